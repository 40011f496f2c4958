# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM pre-training end to end: tools/train.py, mmengine Runner, real
CamVid frames, the CPU demo config (64 px views, tiny ViT), a few
iterations.

One uninterrupted 12-iteration run: the loss goes down and the targets do
not collapse (their std across the batch stays above a floor). A second run
is killed with SIGKILL right after its first checkpoint (iteration 6) and
resumed with ``--resume``: it continues at iteration 7 and logs what the
uninterrupted run logged.
"""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from ..conftest import REPO_ROOT, SHARED_DATA, config_path, shared_path

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
DEMO_CFG = config_path(
    'siameseim', 'siameseim_vit-tiny-p8_1xb32-coslr-200i_camvid-64px.py')
MAX_ITERS, INTERVAL = 12, 6
STD_FLOOR = 0.2  # LayerNorm'ed i.i.d. targets: about 1; collapse: 0


def train_cmd(work_dir, resume=False):
    cmd = [sys.executable, TRAIN, DEMO_CFG, '--work-dir', str(work_dir)]
    if resume:
        cmd.append('--resume')
    return cmd + [
        '--cfg-options', f'train_cfg.max_iters={MAX_ITERS}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={INTERVAL}'
    ]


def env():
    return dict(
        os.environ,
        DENSESIAM_SHARED_DATA=SHARED_DATA,
        PYTHONHASHSEED='0',
        OMP_NUM_THREADS='1')


def run(cmd):
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def logged(work_dir):
    rows = {}
    for path in sorted(
            glob.glob(
                osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['iter']] = row
    return rows


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    shared_path('camvid', 'images', 'train')
    work_dir = tmp_path_factory.mktemp('siameseim_full')
    run(train_cmd(work_dir))
    return work_dir


def test_loss_decreases_and_targets_do_not_collapse(full_run):
    rows = logged(full_run)
    assert sorted(rows) == list(range(1, MAX_ITERS + 1))
    losses = [rows[i]['loss'] for i in sorted(rows)]
    assert all(torch.isfinite(torch.tensor(losses)))
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.8 * first, losses
    stds = [rows[i]['target_std'] for i in sorted(rows)]
    assert min(stds) > STD_FLOOR, stds
    ckpt = torch.load(
        osp.join(str(full_run), f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)
    keys = ckpt['state_dict'].keys()
    assert any(k.startswith('backbone.layers.') for k in keys)
    assert any(k.startswith('target_net.module.0.layers.') for k in keys)
    assert int(ckpt['state_dict']['target_net.steps']) == MAX_ITERS


def test_frozen_parameters_logged_in_one_line(full_run):
    # mmengine warned once per frozen parameter (81 lines) before iteration
    # 1; the constructor now logs one summary line
    logs = glob.glob(osp.join(str(full_run), '*', '*.log'))
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        lines = [line for line in f if 'requires_grad=False' in line]
    assert len(lines) == 1, lines[:3]
    assert '81 frozen parameters' in lines[0] and 'WARNING' not in lines[0]


def test_killed_run_resumes(full_run, tmp_path):
    work_dir = tmp_path / 'crash'
    proc = subprocess.Popen(
        train_cmd(work_dir),
        cwd=REPO_ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    pointer = osp.join(str(work_dir), 'last_checkpoint')
    start = time.time()
    try:
        while not osp.isfile(pointer) or not open(pointer).read().strip():
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.time() - start < 300, 'no checkpoint written'
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    killed_at = torch.load(
        open(pointer).read().strip(), map_location='cpu',
        weights_only=False)['meta']['iter']
    assert killed_at == INTERVAL
    assert not osp.isfile(osp.join(str(work_dir), f'iter_{MAX_ITERS}.pth'))

    out = run(train_cmd(work_dir, resume=True))
    log = out.stdout + out.stderr
    assert f'resumed epoch: 0, iter: {killed_at}' in log, log[-3000:]
    full, resumed = logged(full_run), logged(work_dir)
    assert sorted(resumed)[-1] == MAX_ITERS
    for it in range(killed_at + 1, MAX_ITERS + 1):
        for key in ('loss', 'target_std', 'lr'):
            assert resumed[it][key] == pytest.approx(
                full[it][key], rel=1e-4), (it, key)
    a = torch.load(
        osp.join(str(full_run), f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    b = torch.load(
        osp.join(str(work_dir), f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(
            a[key], b[key], atol=1e-5, rtol=1e-4, msg=key)
