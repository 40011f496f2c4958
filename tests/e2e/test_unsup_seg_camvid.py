# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam-Seg and PiCIE on real CamVid frames through the mmengine
Runner: a few training iterations on unlabelled train frames, evaluation
with the Hungarian metric on labelled val frames, mmseg's inference API and
the demo / plotting tools on the resulting checkpoint."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import densesiam_mm  # noqa: F401
from densesiam_mm.apis import inference_unsup_segmentor, init_unsup_segmentor
from ..conftest import REPO_ROOT, SHARED_DATA, config_path, shared_path

CONFIGS = {
    'densesiam-seg':
    config_path('unsup_seg', 'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py'),
    'picie':
    config_path('unsup_seg', 'picie_resnet18-fpn_1xb8-3e_camvid.py'),
}
METRIC_KEYS = ('aAcc', 'mIoU', 'mIoU_thing', 'mIoU_stuff', 'IoU.Car')


def tiny_cfg(config, work_dir):
    """Tiny CPU run: 8 train frames, 64 px views, batch 4, 4 val frames."""
    os.environ['DENSESIAM_SHARED_DATA'] = SHARED_DATA
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    # one visualizer (and its log folder) per Runner in this process
    cfg.visualizer.name = f'visualizer_{osp.basename(str(work_dir))}'
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.dataset.indices = 8
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'NestedCropViews':  # the authors' views
            step['view_size'] = 64
        elif step['type'] == 'ResizeCenterCrop':
            step['size'] = 128
    cfg.val_dataloader.batch_size = 2
    cfg.val_dataloader.dataset.indices = 4
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.model.grid_size = 8
    return cfg


def logged_losses(work_dir):
    rows = []
    for root, _, files in os.walk(str(work_dir)):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                rows += [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if 'loss' in r]


@pytest.mark.parametrize('method', ['densesiam-seg', 'picie'])
def test_train_and_evaluate_on_camvid(method, tmp_path):
    shared_path('camvid', 'images', 'train')
    runner = Runner.from_cfg(tiny_cfg(CONFIGS[method], tmp_path))
    runner.train()
    if method == 'picie':  # the authors' protocol: labels of every frame
        model = runner.model
        assert sorted(model.stored_labels) == list(range(8))
        assert model.stored_labels[0].shape == (2, 16, 16)
        torch.testing.assert_close(
            model.epoch_class_weights.sum(1), torch.ones(2))
        assert not model.classifiers[0].weight.requires_grad
    rows = logged_losses(tmp_path)
    assert len(rows) == 2  # 8 frames, batch 4
    expected = ('loss_dense', 'loss_pseudo', 'loss_aux', 'loss_region') \
        if method == 'densesiam-seg' else ('loss_within', 'loss_cross')
    for row in rows:
        for key in ('loss', ) + expected:
            assert math.isfinite(row[key]), (key, row)
    metrics = runner.test()
    for key in METRIC_KEYS:
        assert 0 <= metrics[key] <= 100, (key, metrics)
    ckpt = osp.join(str(tmp_path), 'epoch_1.pth')
    assert osp.isfile(ckpt)

    # mmseg's inference API on a real frame: cluster ids at 480x360
    model = init_unsup_segmentor(CONFIGS[method], ckpt, device='cpu')
    frame = osp.join(
        shared_path('camvid', 'images', 'val'),
        sorted(os.listdir(shared_path('camvid', 'images', 'val')))[0])
    result = inference_unsup_segmentor(model, frame)
    assert result.pred_sem_seg.data.shape == (1, 360, 480)
    assert 0 <= int(result.pred_sem_seg.data.max()) < 11
    assert model.checkpoint_dataset_meta['classes'][0] == 'Sky'

    if method == 'picie':  # the user-facing scripts, once
        out_dir = tmp_path / 'overlays'
        subprocess.run([
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'demo', 'seg_demo.py'), frame,
            CONFIGS[method], ckpt, '--out-dir',
            str(out_dir)
        ],
                       check=True,
                       cwd=REPO_ROOT,
                       capture_output=True,
                       timeout=300)
        import mmcv
        overlay = mmcv.imread(
            str(out_dir / (osp.splitext(osp.basename(frame))[0] + '.png')))
        assert overlay.shape == (360, 480, 3)

        metrics_file = tmp_path / 'metrics.json'
        metrics_file.write_text(json.dumps(metrics))
        plot = tmp_path / 'iou.png'
        subprocess.run([
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'analysis', 'plot_per_class_iou.py'),
            str(metrics_file), '--out',
            str(plot), '--things', 'Car', 'Pedestrian', 'Bicyclist'
        ],
                       check=True,
                       cwd=REPO_ROOT,
                       capture_output=True,
                       timeout=120)
        assert plot.stat().st_size > 0
