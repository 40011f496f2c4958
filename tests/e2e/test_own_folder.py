# Copyright (c) densesiam_mm contributors. All rights reserved.
"""From your own folder of images to segment maps, as the README's three
commands, at tiny sizes: DenseSiam pre-training -> DenseSiam-Seg without
labels (from that checkpoint) -> tools/demo/segment_folder.py.

The folder is the demo photos in sub-folders, one with an upper-case
suffix and one saved as PNG, plus a file that is not an image: it is
skipped and counted by every step, and the segmentation writes one
overlay, one index PNG and one summary row per readable image.
"""
import csv
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from ..conftest import DEMO_DATA, REPO_ROOT, config_path, load_script

PRETRAIN = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-200i_image-folder.py')
SEG = config_path('unsup_seg',
                  'densesiam-seg_resnet18-fpn_1xb8-300i_image-folder.py')


def _run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def _folder(root):
    """9 readable images (nested, one .JPG, one .png) and a broken one."""
    photos = sorted(glob.glob(osp.join(DEMO_DATA, '*.jpg')))
    assert len(photos) == 9
    os.makedirs(osp.join(root, 'street', 'day'))
    for i, photo in enumerate(photos):
        name = osp.basename(photo)
        if i == 0:
            shutil.copy(photo, osp.join(root, name[:-4] + '.JPG'))
        elif i == 1:
            Image.open(photo).save(
                osp.join(root, 'street', name[:-4] + '.png'))
        elif i < 5:
            shutil.copy(photo, osp.join(root, 'street', 'day', name))
        else:
            shutil.copy(photo, osp.join(root, name))
    with open(osp.join(root, 'street', 'broken.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    with open(osp.join(root, 'notes.txt'), 'w') as f:
        f.write('not an image either')
    return 9


def test_own_folder_pretrain_seg_segment(tmp_path):
    images = str(tmp_path / 'my images')  # --data-root takes spaces
    readable = _folder(images)
    pre_dir = str(tmp_path / 'pretrain')
    seg_dir = str(tmp_path / 'seg')
    out_dir = osp.join(images, 'segments')  # inside the folder: not read

    log = _run([
        'tools/train.py', PRETRAIN, '--data-root', images, '--work-dir',
        pre_dir, '--cfg-options', 'train_cfg.max_iters=2',
        'param_scheduler.0.T_max=2', 'param_scheduler.0.end=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.scale=64'
    ], REPO_ROOT)
    assert 'eta:' in log  # progress with ETA
    assert 'Training done. Latest checkpoint: ' in log
    ckpt = osp.join(pre_dir, 'iter_2.pth')
    assert osp.isfile(ckpt)

    log = _run([
        'tools/train.py', SEG, '--data-root', images, '--work-dir', seg_dir,
        '--cfg-options', f'model.backbone.init_cfg.checkpoint={ckpt}',
        'model.backbone.init_cfg.prefix=backbone.', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=4',
        'train_dataloader.dataset.pipeline.1.size=64',
        'train_dataloader.dataset.pipeline.2.view_size=32'
    ], REPO_ROOT)
    # the pre-training weights were loaded, not torchvision's
    assert 'provides 120 of the 120 tensors' in log, log[-3000:]
    assert 'eta:' in log
    seg_ckpt = osp.join(seg_dir, 'iter_2.pth')
    assert osp.isfile(seg_ckpt)

    log = _run([
        'tools/demo/segment_folder.py', images, SEG, seg_ckpt, '--out-dir',
        out_dir
    ], REPO_ROOT)
    assert f'segmented {readable} of {readable + 1} images' in log, log
    overlays = sorted(
        glob.glob(
            osp.join(out_dir, 'overlays', '**', '*.png'), recursive=True))
    indices = sorted(
        glob.glob(osp.join(out_dir, 'labels', '**', '*.png'), recursive=True))
    assert len(overlays) == len(indices) == readable
    with open(osp.join(out_dir, 'summary.json')) as f:
        summary = json.load(f)
    assert summary['num_images'] == readable
    assert summary['num_skipped'] == 1
    assert summary['skipped'][0]['image'] == osp.join('street', 'broken.jpg')
    num = summary['num_clusters']
    assert num == 16
    assert abs(sum(summary['fraction']) - 1) < 1e-4
    for item in summary['images']:
        src = Image.open(osp.join(images, item['image']))
        index = Image.open(osp.join(out_dir, item['index']))
        over = Image.open(osp.join(out_dir, item['overlay']))
        # index PNG: cluster ids at the image size; its histogram is the
        # summary's pixel counts
        assert index.mode == 'P' and index.size == src.size == over.size
        ids = np.asarray(index)
        assert ids.max() < num
        assert np.bincount(ids.ravel(), minlength=num).tolist() == \
            item['pixels']
        assert abs(sum(item['fraction']) - 1) < 1e-4
    with open(osp.join(out_dir, 'summary.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == readable
    assert [r['image'] for r in rows] == \
        [i['image'] for i in summary['images']]
    assert f'cluster_{num - 1}' in rows[0]

    # score_segments.py against label maps equal to the cluster maps
    # (classes = clusters): every pixel right, mIoU over the present ones
    log = _run([
        'tools/demo/score_segments.py', out_dir,
        osp.join(out_dir, 'labels'), '--num-classes',
        str(num)
    ], REPO_ROOT)
    assert f'{readable} images, aAcc 100.00, mIoU 100.00' in log, log

    # a second run into another folder inside IMAGES would not read the
    # first one's outputs
    tool = load_script('tools/demo/segment_folder.py')
    found = tool.find_images(images, skip_dir=osp.join(images, 'other'))
    assert len(found) == readable + 1  # the broken file is found, then
    assert not any(p.startswith('segments') for p in found)
