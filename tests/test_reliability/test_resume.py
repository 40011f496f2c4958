# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Resume after SIGKILL: the run continues exactly where it was.

8 iterations (batch 4, 64 px views with the paper's random augmentations,
seed 0, no data-loader workers), a checkpoint every 3 iterations, RegionSim
on from iteration 5. The run is killed with SIGKILL right after its first
checkpoint is complete, resumed with ``--resume``, and compared with an
uninterrupted run.
"""
import os.path as osp
import signal
import subprocess
import time

import torch

from ._utils import (REPO_ROOT, env, make_images, recorded_losses, run,
                     train_cmd, write_tiny_config)

MAX_ITERS = 8


def _kill_after_first_checkpoint(cmd, work_dir, timeout=240):
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    pointer = osp.join(str(work_dir), 'last_checkpoint')
    start = time.time()
    try:
        # mmengine writes `last_checkpoint` after the checkpoint is saved.
        while not osp.isfile(pointer) or not open(pointer).read().strip():
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.time() - start < timeout, 'no checkpoint written'
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with open(pointer) as f:
        return f.read().strip()


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    data = make_images(tmp_path / 'images')
    config = write_tiny_config(
        tmp_path / 'tiny.py',
        data,
        max_iters=MAX_ITERS,
        interval=3,
        start_ratio=0.5)
    full_dir, crash_dir = tmp_path / 'full', tmp_path / 'crash'

    run(train_cmd(config, full_dir))
    ckpt = _kill_after_first_checkpoint(
        train_cmd(config, crash_dir), crash_dir)
    killed_at = torch.load(
        ckpt, map_location='cpu', weights_only=False)['meta']['iter']
    assert killed_at < MAX_ITERS
    assert not osp.isfile(osp.join(str(crash_dir), f'iter_{MAX_ITERS}.pth'))

    proc = run(train_cmd(config, crash_dir, resume=True))
    log = proc.stdout + proc.stderr
    assert f'resumed epoch: 0, iter: {killed_at}' in log, log[-3000:]

    # Iteration count, LR schedule and RegionSim state continue: every
    # resumed iteration logs what the uninterrupted run logged.
    full = {r['iter']: r for r in recorded_losses(full_dir)}
    resumed = {r['iter']: r for r in recorded_losses(crash_dir)}
    assert sorted(full) == list(range(1, MAX_ITERS + 1))
    for it in range(killed_at + 1, MAX_ITERS + 1):
        assert resumed[it] == full[it], (it, resumed[it], full[it])
    for it, row in full.items():
        # RegionSim from iteration 5 (start_ratio 0.5 of 8), never earlier.
        assert (row['loss_region'] != 0) == (it >= 5), row
    switch = 'RegionSim on from iteration'
    assert log.count(switch) == 1, log[-3000:]
    assert f'{switch} {max(killed_at + 1, 5)} ' in log

    # Final weights, optimizer state and scheduler state are identical.
    a = torch.load(
        osp.join(str(full_dir), f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)
    b = torch.load(
        osp.join(str(crash_dir), f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS
    assert a['state_dict'].keys() == b['state_dict'].keys()
    max_diff = max((a['state_dict'][k].double() -
                    b['state_dict'][k].double()).abs().max().item()
                   for k in a['state_dict'])
    assert max_diff == 0, f'final weights differ by {max_diff}'
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys() and opt_a
    for key in opt_a:
        assert torch.equal(opt_a[key]['momentum_buffer'],
                           opt_b[key]['momentum_buffer'])
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert a['param_schedulers'] == b['param_schedulers']


def test_resume_with_other_lr_warns_before_training(tmp_path):
    """Issue 18, item 6: `--resume` keeps the checkpoint's lr and schedule;
    a config that changed them (here lr 0.05 -> 0.001, max_iters 2 -> 3)
    is named, with both values, before the first resumed iteration."""
    data = make_images(tmp_path / 'images', num=4)
    config = write_tiny_config(
        tmp_path / 'tiny.py', data, batch_size=2, max_iters=2, interval=2)
    work_dir = tmp_path / 'work'
    run(train_cmd(config, work_dir))
    ckpt = osp.join(str(work_dir), 'iter_2.pth')

    proc = run(
        train_cmd(
            config,
            work_dir,
            'optim_wrapper.optimizer.lr=0.001',
            'train_cfg.max_iters=3',
            resume=True))
    log = proc.stdout + proc.stderr
    warning = log.find(f'--resume from {ckpt}: the config differs')
    first_iter = log.find('Iter(train) [3/3]')
    assert 0 <= warning < first_iter, log[-3000:]
    text = log[warning:first_iter]
    assert ('optim_wrapper.optimizer.lr: the config says 0.001, the '
            'checkpoint was trained with 0.05 -- NOT applied') in text, text
    assert ('train_cfg.max_iters: the config says 3, the checkpoint was '
            'trained with 2') in text, text
    assert f'`--cfg-options load_from={ckpt}`' in text
    assert 'batch_size' not in text  # unchanged settings are not named
    # what the warning says is what happens: the resumed lr is not 0.001
    resumed = log[first_iter:].splitlines()[0]
    assert 'lr: 1.0000e-03' not in resumed, resumed
