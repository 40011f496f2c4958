# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Pre-training end to end through tools/train.py and the mmengine Runner."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import torch

from ..conftest import REPO_ROOT, SHARED_DATA, config_path, shared_path

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
CAMVID_CFG = config_path('densesiam',
                         'densesiam_resnet18_1xb16-coslr-200i_camvid.py')
DEMO_CFG = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-60i_demo.py')


def train(config, work_dir, *options, resume=False):
    cmd = [sys.executable, TRAIN, config, '--work-dir', str(work_dir)]
    if resume:
        cmd.append('--resume')
    cmd += ['--cfg-options', *options]
    env = dict(
        os.environ, DENSESIAM_SHARED_DATA=SHARED_DATA, PYTHONHASHSEED='0')
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def scalars(work_dir):
    files = sorted(
        glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    rows = []
    for path in files:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def test_camvid_pretrain_few_iterations(tmp_path):
    shared_path('camvid', 'images', 'train')
    train(CAMVID_CFG, tmp_path, 'train_cfg.max_iters=4',
          'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
          'train_dataloader.persistent_workers=False',
          'default_hooks.logger.interval=1',
          'default_hooks.checkpoint.interval=4')
    rows = [r for r in scalars(tmp_path) if 'loss' in r]
    assert len(rows) == 4
    for row in rows:
        for key in ('loss', 'loss_global', 'loss_dense', 'loss_region'):
            assert math.isfinite(row[key]), (key, row)
    # RegionSim switched on at half of the 4 iterations
    assert rows[0]['loss_region'] == 0 and rows[-1]['loss_region'] != 0
    assert osp.isfile(osp.join(str(tmp_path), 'iter_4.pth'))


def test_demo_checkpoint_resumes(tmp_path):
    options = ('train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=3')
    train(DEMO_CFG, tmp_path, 'train_cfg.max_iters=3', *options)
    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_3.pth'),
        map_location='cpu',
        weights_only=False)
    assert ckpt['meta']['iter'] == 3
    # resume from the work dir's latest checkpoint and go on to iteration 5
    proc = train(
        DEMO_CFG, tmp_path, 'train_cfg.max_iters=5', *options, resume=True)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 3' in log, log[-3000:]
    assert 'weights_only=False' not in log
    iters = [r['iter'] for r in scalars(tmp_path) if 'loss' in r]
    assert iters[-2:] == [4, 5]


def test_mim_train_finds_the_packaged_config(tmp_path):
    """`mim train densesiam_mm NAME` resolves the config in the package."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [
        mim, 'train', 'densesiam_mm',
        'densesiam_resnet18_1xb8-coslr-60i_demo.py', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_iters=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Training finished successfully' in proc.stdout + proc.stderr
