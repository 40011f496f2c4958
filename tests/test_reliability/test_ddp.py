# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DDP on CPU: 2 processes (gloo, tools/dist_train.sh) vs 1 process.

Same global batch (2 x 2 vs 1 x 4), same data order and same inputs:

- data order: ``InfiniteSampler`` shuffles one permutation from the shared
  seed and gives rank ``r`` its ``r::world_size`` entries, so the 4 images of
  global step ``t`` are the 4 that the single process draws at step ``t``;
- inputs: the views are made without randomness (resize to 64 px; view 2
  also flipped) and ``num_workers=0``: random augmentations draw from each
  process's RNG in a different order, so they could never match;
- normalisation: GroupNorm with one group everywhere instead of BN. Per-rank
  BN would normalise over 2 images instead of 4; SyncBN would match but
  torch's SyncBN runs on GPUs only. GroupNorm is per image, so the forward
  pass is identical; every loss term is a mean over images (RegionSim's
  InfoNCE contrasts regions of the same image), so DDP's gradient average
  over ranks equals the single-process gradient.

The per-rank losses are recorded by a test hook (mmengine logs rank 0's).
"""
import glob
import os.path as osp

import torch

from ._utils import (DIST_TRAIN, free_port, log_files, make_images, read_logs,
                     recorded_losses, run, train_cmd, write_tiny_config)

DETERMINISTIC = '''
norm = dict(type='GN', num_groups=1)
model = dict(
    backbone=dict(norm_cfg=norm),
    neck=dict(norm_cfg=norm),
    head=dict(predictor=dict(norm_cfg=norm)),
    pix_sim_neck=dict(norm_cfg=norm),
    pix_sim_head=dict(predictor=dict(norm_cfg=norm)),
    region_sim_head=dict(
        projector=dict(norm_cfg=norm), predictor=dict(norm_cfg=norm)))
view_1 = [dict(type='Resize', scale=(64, 64))]
view_2 = [dict(type='Resize', scale=(64, 64)),
          dict(type='RandomFlip', prob=1.0, direction='horizontal')]
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='MultiViewWithGeometry', num_views=[1, 1],
         transforms=[view_1, view_2]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]
'''
STEPS = 4
# Measured: 6e-8 for losses and weights (float32 rounding: the gradient
# all-reduce sums in another order); the tolerance leaves room for other
# CPUs and BLAS builds.
TOLERANCE = 1e-5


def test_ddp_two_cpu_processes_match_one_process(tmp_path):
    data = make_images(tmp_path / 'images', size=64, num=8)
    single = write_tiny_config(
        tmp_path / 'single.py',
        data,
        batch_size=4,
        max_iters=STEPS,
        interval=STEPS,
        extra=DETERMINISTIC)
    ddp = write_tiny_config(
        tmp_path / 'ddp.py',
        data,
        batch_size=2,
        max_iters=STEPS,
        interval=STEPS,
        extra=DETERMINISTIC)

    run(train_cmd(single, tmp_path / 'single'))
    cmd = ['bash', DIST_TRAIN, ddp, '2', '--work-dir', str(tmp_path / 'ddp')]
    proc = run(['env', f'PORT={free_port()}'] + cmd)
    # the environment block is in the log file (not on the console)
    log = proc.stdout + proc.stderr + read_logs(tmp_path / 'ddp')
    assert 'Distributed launcher: pytorch' in log or 'world_size: 2' in log \
        or 'Distributed: True' in log, log[-3000:]

    # (a) both ranks trained every step, on the two halves of the batch
    reference = recorded_losses(tmp_path / 'single')
    rank0 = recorded_losses(tmp_path / 'ddp', 0)
    rank1 = recorded_losses(tmp_path / 'ddp', 1)
    assert [r['iter'] for r in rank0] == list(range(1, STEPS + 1))
    assert [r['iter'] for r in rank1] == list(range(1, STEPS + 1))
    for ref, r0, r1 in zip(reference, rank0, rank1):
        assert len(ref['images']) == 4
        assert r0['images'] == ref['images'][0::2]
        assert r1['images'] == ref['images'][1::2]

    # (b) rank 0 alone writes one log and one checkpoint
    assert len(log_files(tmp_path / 'ddp')) == 1
    assert [osp.basename(p) for p in
            glob.glob(osp.join(str(tmp_path / 'ddp'), '*.pth'))] == \
        [f'iter_{STEPS}.pth']

    # (c) the mean of the ranks' losses is the single process's loss
    diffs = []
    for ref, r0, r1 in zip(reference, rank0, rank1):
        for key in ('loss_global', 'loss_dense', 'loss_region'):
            diffs.append(abs(ref[key] - (r0[key] + r1[key]) / 2))
    assert reference[-1]['loss_region'] != 0  # RegionSim took part
    assert max(diffs) < TOLERANCE, max(diffs)

    # ... and so are the weights after the last step
    a = torch.load(
        osp.join(str(tmp_path / 'single'), f'iter_{STEPS}.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    b = torch.load(
        osp.join(str(tmp_path / 'ddp'), f'iter_{STEPS}.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    assert a.keys() == b.keys()
    weight_diff = max(
        (a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert weight_diff < TOLERANCE, weight_diff
    print(f'DDP vs single: max loss diff {max(diffs):.3g}, '
          f'max weight diff {weight_diff:.3g}')


def test_ddp_on_cpu_runs_syncbn_config_as_per_process_bn(tmp_path):
    """torch's DDP refuses SyncBN in a CPU module; CPUDistributedDataParallel
    runs the layers as per-process BN, with a warning."""
    data = make_images(tmp_path / 'images', size=64, num=4)
    config = write_tiny_config(
        tmp_path / 'sync_bn.py', data, batch_size=2, max_iters=1, interval=1)
    cmd = [
        'bash', DIST_TRAIN, config, '2', '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        'model.backbone.norm_cfg.type=SyncBN',
        'model.pix_sim_neck.norm_cfg.type=SyncBN'
    ]
    proc = run(['env', f'PORT={free_port()}'] + cmd)
    log = proc.stdout + proc.stderr
    assert 'SyncBN layers run as per-process BN on CPU' in log, log[-3000:]
    for rank in (0, 1):
        assert len(recorded_losses(tmp_path / 'work', rank)) == 1
