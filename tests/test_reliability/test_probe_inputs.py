# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Probes and the demo under hostile inputs (issue 18, items 4, 7, 9, 10):
one work dir per checkpoint, owned while the probe runs; options, label
maps and image sizes refused before any work, naming the option or file."""
import hashlib
import json
import os
import os.path as osp
import re
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

import densesiam_mm  # noqa: F401
from densesiam_mm.apis import lock_work_dir
from ..conftest import DEMO_DATA, REPO_ROOT, config_path, load_script

PROBE_TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'dense_probe.py')
DEMO = osp.join(REPO_ROOT, 'tools', 'demo', 'seg_demo.py')
PROBE_CFG = config_path(
    'benchmarks', 'dense_probe', 'camvid',
    'linear-probe_resnet18-c5_1xb16-200i_camvid-320x240.py')
SEG_CFG = config_path('unsup_seg',
                      'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py')


def _resnet18_weights(seed):
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(type='ResNet', depth=18))
    model.init_weights()
    return model.state_dict()


@pytest.fixture
def probe_tool(monkeypatch):
    """The tool with the k-means probe replaced by a stub that records the
    work dir it ran in (no data set needed)."""
    tool = load_script(PROBE_TOOL)
    calls = []

    def fake_kmeans(cfg, seeds, over_clustering, runner, work_dir):
        calls.append(work_dir)
        backbone = torch.load(
            osp.join(work_dir, 'backbone.pth'), weights_only=True)
        score = float(backbone['state_dict']['conv1.weight'].sum())
        return dict(
            kmeans=dict(
                k=11,
                matching='hungarian',
                seeds=list(seeds),
                mIoU=[score] * len(seeds),
                mIoU_mean=score,
                mIoU_std=0.0))

    monkeypatch.setattr(tool, 'kmeans_probe', fake_kmeans)
    tool.calls = calls
    return tool


# -- item 4: one work dir per checkpoint, owned, result names its input ----
def test_same_file_name_of_two_runs_gets_two_work_dirs(probe_tool, tmp_path,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = []
    for run, seed in (('run_a', 1), ('run_b', 2)):
        os.makedirs(run)
        path = str(tmp_path / run / 'iter_300.pth')
        torch.save(dict(state_dict=_resnet18_weights(seed)), path)
        paths.append(path)
    results = [
        probe_tool.main([p, '--probe', 'kmeans', '--seeds', '0'])
        for p in paths
    ]
    work_dirs = probe_tool.calls
    assert len(set(work_dirs)) == 2, work_dirs
    for path, work_dir, result in zip(paths, work_dirs, results):
        with open(osp.join(work_dir, 'dense_probe.json')) as f:
            saved = json.load(f)  # both results survive
        assert saved == json.loads(json.dumps(result))
        sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        assert saved['checkpoint_file']['path'] == path
        assert saved['checkpoint_file']['sha256'] == sha
        assert osp.basename(work_dir) == f'iter_300-{sha[:8]}'
        assert saved['options']['seeds'] == [0]
        assert saved['options']['probe'] == 'kmeans'
        weights = torch.load(path, weights_only=True)['state_dict']
        backbone = torch.load(
            osp.join(work_dir, 'backbone.pth'),
            weights_only=True)['state_dict']
        assert torch.equal(backbone['conv1.weight'], weights['conv1.weight'])
    assert results[0]['kmeans']['mIoU'] != results[1]['kmeans']['mIoU']


def test_random_backbone_work_dir_is_keyed_by_its_config(probe_tool):
    cfg = Config.fromfile(PROBE_CFG)
    name, sha = probe_tool.checkpoint_identity('random', cfg)
    assert name == 'random'
    assert probe_tool.checkpoint_identity('random', cfg) == (name, sha)
    cfg.model.backbone.depth = 34
    assert probe_tool.checkpoint_identity('random', cfg)[1] != sha


def test_busy_work_dir_refuses_a_second_probe_at_once(probe_tool, tmp_path):
    ckpt = str(tmp_path / 'iter_300.pth')
    torch.save(dict(state_dict=_resnet18_weights(1)), ckpt)
    work_dir = str(tmp_path / 'probe')
    with lock_work_dir(work_dir, 'dense probe'):
        start = time.time()
        with pytest.raises(SystemExit) as exit_info:
            probe_tool.main(
                [ckpt, '--probe', 'kmeans', '--work-dir', work_dir])
        assert time.time() - start < 30
    message = str(exit_info.value.code)
    assert message.startswith('error:')
    assert work_dir in message and 'in use by another process' in message
    assert 'dense probe' in message
    assert probe_tool.calls == []  # nothing probed
    assert not osp.exists(osp.join(work_dir, 'dense_probe.json'))


def test_out_may_not_be_the_checkpoint(probe_tool, tmp_path):
    ckpt = str(tmp_path / 'iter_300.pth')
    torch.save(dict(state_dict=_resnet18_weights(1)), ckpt)
    before = open(ckpt, 'rb').read()
    link = str(tmp_path / 'link.pth')
    os.link(ckpt, link)
    for out in (ckpt, link):
        with pytest.raises(SystemExit) as exit_info:
            probe_tool.main([
                ckpt, '--probe', 'kmeans', '--work-dir',
                str(tmp_path / 'probe'), '--out', out
            ])
        assert '--out' in str(exit_info.value.code)
        assert ckpt in str(exit_info.value.code)
    assert open(ckpt, 'rb').read() == before
    assert probe_tool.calls == []


# -- item 9 and 10: options refused by argparse, naming the valid values ---
@pytest.mark.parametrize('options, message', [
    (['--iters', '0'], '--iters: must be >= 1'),
    (['--iters', '-5'], '--iters: must be >= 1'),
    (['--seeds', '0', '0'], '--seeds 0 0: 0 given more than once'),
    (['--stages', '7'], r"--stages: invalid choice: 7 \(choose from "
     '0, 1, 2, 3'),
    (['--stages', '3', '3'], '--stages 3 3: 3 given more than once'),
    (['--over-clustering', '-1'], '--over-clustering: must be 0 '
     r'\(off\) or an integer >= 2 .*got -1'),
    (['--over-clustering', '1'], '--over-clustering: must be 0'),
])
def test_probe_options_are_checked_by_argparse(probe_tool, capsys, options,
                                               message):
    with pytest.raises(SystemExit) as exit_info:
        probe_tool.parse_args(['random'] + options)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err), options


def test_valid_probe_options_still_parse(probe_tool):
    args = probe_tool.parse_args([
        'random', '--iters', '1', '--seeds', '0', '1', '--stages', '1', '2',
        '3', '--over-clustering', '0'
    ])
    assert (args.iters, args.seeds, args.stages, args.over_clustering) == \
        (1, [0, 1], [1, 2, 3], 0)
    assert probe_tool.parse_args(['random']).iters is None


@pytest.mark.parametrize('script',
                         ['unsup_seg_camvid.py', 'transfer_camvid.py'])
def test_benchmarks_refuse_repeated_seeds(script, capsys):
    tool = load_script(osp.join('tools', 'benchmarks', script))
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args(['--seeds', '0', '0'])
    assert exit_info.value.code == 2
    assert '--seeds 0 0: 0 given more than once' in capsys.readouterr().err
    assert tool.parse_args(['--seeds', '0', '1']).seeds == [0, 1]


# -- item 7 and 10: label maps the linear probe cannot score -----------------
def _camvid_like(root, labels):
    """``root/images/val/*.jpg`` (64x48) and ``root/labels/val/*.png``."""
    os.makedirs(root / 'images' / 'val')
    os.makedirs(root / 'labels' / 'val')
    photo = Image.open(osp.join(DEMO_DATA, 'coffee.jpg')).convert('RGB')
    for name, label in labels.items():
        photo.resize((64, 48)).save(root / 'images' / 'val' / f'{name}.jpg')
        Image.fromarray(label).save(root / 'labels' / 'val' / f'{name}.png')


def _probe_val_dataset(root, cfg=None):
    from mmseg.registry import DATASETS
    cfg = cfg or Config.fromfile(PROBE_CFG)
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.data_root = str(root)
    for step in dataset_cfg.pipeline:
        if step.type == 'Resize':
            step.scale = (64, 48)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(dataset_cfg)


def _label(value=1, size=(48, 64)):
    label = np.full(size, value, np.uint8)
    label[:4] = 11  # CamVid's "unlabelled", mapped to the ignore index
    return label


def test_linear_probe_refuses_class_ids_outside_the_classes(tmp_path):
    bad = _label()
    bad[10:20, 10:20] = 200
    _camvid_like(tmp_path, {'good': _label(), 'bad': bad})
    dataset = _probe_val_dataset(tmp_path)
    names = [
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]
    with pytest.raises(ValueError) as err:
        dataset[names.index('bad.jpg')]
    message = str(err.value)
    assert str(tmp_path / 'labels' / 'val' / 'bad.png') in message
    assert '[200]' in message and '0..10' in message
    assert 'num_classes 11' in message and 'ignore index 255' in message
    good = dataset[names.index('good.jpg')]  # a valid map still loads
    assert set(good['data_samples'].gt_sem_seg.data.unique().tolist()) == \
        {1, 255}


def test_probe_tool_checks_labels_of_a_user_config(probe_tool, tmp_path):
    """A user --config loading labels with mmseg's plain LoadAnnotations
    gets the same check from the tool."""
    bad = _label()
    bad[0, 0] = 200
    _camvid_like(tmp_path, {'bad': bad})
    cfg = Config.fromfile(PROBE_CFG)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        for step in loader.dataset.pipeline:
            if step.type == 'LoadCheckedSegAnnotations':
                step.type = 'LoadAnnotations'
    probe_tool.check_label_maps(cfg)
    with pytest.raises(ValueError, match=r'bad\.png has class ids \[200\]'):
        _probe_val_dataset(tmp_path, cfg)[0]


@pytest.mark.parametrize('kind', ['size', 'rgb'])
def test_linear_probe_refuses_label_of_wrong_size_or_rgb(tmp_path, kind):
    if kind == 'size':
        label = _label(size=(24, 32))
        expected = r'is 32x24 \(WxH\) but its image .*bad\.jpg is 64x48'
    else:
        label = np.stack([_label()] * 3, -1)
        expected = r'has shape \(48, 64, 3\); expected a single-channel'
    _camvid_like(tmp_path, {'bad': label})
    with pytest.raises(ValueError, match=expected) as err:
        _probe_val_dataset(tmp_path)[0]
    assert str(tmp_path / 'labels' / 'val' / 'bad.png') in str(err.value)


# -- item 10: the demo's size guard and folder entries ----------------------
def _image(path, size):
    photo = Image.open(osp.join(DEMO_DATA, 'coffee.jpg')).convert('RGB')
    photo.resize(size).save(path)
    return str(path)


def test_demo_size_guard(tmp_path):
    from densesiam_mm.apis.inference import (MAX_IMAGE_SIDE,
                                             check_demo_image_size,
                                             load_demo_image)
    assert MAX_IMAGE_SIDE == 4096
    tiny = _image(tmp_path / 'tiny.png', (1, 1))
    with pytest.raises(ValueError, match='is 1x1 px .*at least 32 px') as e:
        check_demo_image_size(tiny)
    assert tiny in str(e.value)
    with pytest.raises(ValueError, match='tiny.png is 1x1'):
        load_demo_image(tiny)
    big = _image(tmp_path / 'big.png', (200, 100))
    img, note = load_demo_image(big, max_side=128)
    assert img.shape == (64, 128, 3) and img.dtype == np.uint8
    assert big in note and 'downscaled to 128x64' in note
    img, note = load_demo_image(big)  # within the default limit: unchanged
    assert img.shape == (100, 200, 3) and note is None
    thin = _image(tmp_path / 'thin.png', (400, 40))
    with pytest.raises(ValueError, match='less elongated'):
        check_demo_image_size(thin, max_side=128)
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_demo_image_size(str(tmp_path))


def test_demo_skips_folders_named_like_images(tmp_path, capsys):
    demo = load_script(DEMO)
    os.makedirs(tmp_path / 'sub.jpg')
    image = _image(tmp_path / 'a.jpg', (64, 48))
    assert demo.list_images(str(tmp_path)) == [image]
    assert f'skipped {tmp_path / "sub.jpg"}: a folder' in \
        capsys.readouterr().err


def test_demo_refuses_a_tiny_image_before_loading_the_model(
        tmp_path, monkeypatch):
    demo = load_script(DEMO)
    tiny = _image(tmp_path / 'one.png', (1, 1))
    monkeypatch.setattr('sys.argv', [
        DEMO, tiny, SEG_CFG,
        str(tmp_path / 'never_read.pth'), '--out-dir',
        str(tmp_path / 'out')
    ])
    with pytest.raises(ValueError, match=r'one\.png is 1x1 px'):
        demo.main()
    assert not osp.exists(tmp_path / 'out')


def test_demo_downscales_skips_folders_and_keeps_inputs(
        tmp_path, monkeypatch, capsys):
    from densesiam_mm.apis import init_unsup_segmentor
    from ._utils import kept_default_scope
    demo = load_script(DEMO)
    with kept_default_scope():
        model = init_unsup_segmentor(SEG_CFG, None)
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    images = tmp_path / 'images'
    os.makedirs(images / 'sub.jpg')
    big = _image(images / 'big.png', (200, 100))
    small = _image(images / 'b.png', (64, 48))
    out = tmp_path / 'out'
    os.makedirs(out)
    os.link(small, out / 'b.png')  # the output name is the input's inode
    before = open(small, 'rb').read()
    monkeypatch.setattr('sys.argv', [
        DEMO,
        str(images), SEG_CFG, ckpt, '--out-dir',
        str(out), '--max-side', '128'
    ])
    with kept_default_scope():
        demo.main()
    captured = capsys.readouterr()
    assert f'skipped {images / "sub.jpg"}' in captured.err
    assert f'{big} is 200x100 px; downscaled to 128x64' in captured.out
    assert open(small, 'rb').read() == before  # the input image is intact
    assert Image.open(out / 'big.png').size == (128, 64)
    assert Image.open(out / 'b_1.png').size == (64, 48)
    assert not [n for n in os.listdir(out) if n.endswith('.partial')]
