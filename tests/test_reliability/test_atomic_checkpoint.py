# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checkpoints are never lost, never silently corrupt, never silently
overwritten (issue 13, cases 1, 2, 5 and 13b).

A tiny DenseSiam run (64 px views, batch 2, ResNet-18) writes real
checkpoints; faults are a SIGKILL in the middle of a write (a slow disk,
``fault_injection.SlowCheckpointWriteHook``), a full disk, flipped bytes and
a copied work dir without ``last_checkpoint``.
"""
import errno
import os
import os.path as osp
import shutil
import signal
import struct
import subprocess
import time
import zipfile

import pytest
from mmengine.fileio import LocalBackend

from densesiam_mm.apis import build_runner
from densesiam_mm.checkpoint import load_checkpoint_file
from ._utils import (REPO_ROOT, env, kept_default_scope, make_images,
                     read_logs, tiny_cfg, train_cmd, train_in_process,
                     write_tiny_config)

SLOW_WRITE = '''
custom_imports = dict(
    imports=['densesiam_mm', 'tests.test_reliability.loss_recorder',
             'tests.test_reliability.fault_injection'],
    allow_failed_imports=False)
default_hooks['checkpoint']['max_keep_ckpts'] = 1
custom_hooks.append(dict(type='SlowCheckpointWriteHook', nth=2))
'''


def _config(tmp_path, name='tiny', **kwargs):
    data = tmp_path / 'images'
    if not data.exists():
        make_images(data, num=4)
    kwargs.setdefault('batch_size', 2)
    kwargs.setdefault('max_iters', 2)
    kwargs.setdefault('interval', 1)
    return write_tiny_config(tmp_path / f'{name}.py', data, **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished 2-iteration run: iter_1.pth, iter_2.pth, last_checkpoint."""
    tmp_path = tmp_path_factory.mktemp('trained')
    config = _config(tmp_path)
    work_dir = tmp_path / 'work'
    with kept_default_scope():
        train_in_process(tiny_cfg(config, work_dir))
    return config, work_dir


def _copy_checkpoints(src, dst, names=('iter_1.pth', 'iter_2.pth')):
    os.makedirs(dst)
    for name in names:
        shutil.copy(osp.join(str(src), name), osp.join(str(dst), name))
    return dst


def flip_tensor_bytes(path):
    """Invert 16 bytes in the middle of the largest tensor record."""
    with zipfile.ZipFile(path) as archive:
        record = max((i for i in archive.infolist() if '/data/' in i.filename),
                     key=lambda i: i.file_size)
    with open(path, 'rb+') as f:
        f.seek(record.header_offset + 26)
        name_len, extra_len = struct.unpack('<HH', f.read(4))
        start = record.header_offset + 30 + name_len + extra_len + \
            record.file_size // 2
        f.seek(start)
        data = f.read(16)
        f.seek(start)
        f.write(bytes(b ^ 0xFF for b in data))


# -- case 1: SIGKILL during the write --------------------------------------
def test_sigkill_during_checkpoint_write_keeps_previous_one(tmp_path):
    """max_keep_ckpts=1 (as the CamVid configs): the run is SIGKILLed while
    it writes iter_2; iter_1 must survive, complete, and resume."""
    config = _config(tmp_path)
    with open(config, 'a') as f:
        f.write(SLOW_WRITE)
    work_dir = tmp_path / 'work'
    marker = work_dir / 'WRITING'
    proc = subprocess.Popen(
        train_cmd(config, work_dir),
        cwd=REPO_ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    start = time.time()
    try:
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.time() - start < 240, 'iter_2 was never written'
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # in the middle of the write
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    being_written = marker.read_text()
    assert osp.basename(being_written) == 'iter_2.pth.partial'
    assert osp.getsize(being_written) < 50 << 20  # really killed mid-write

    # Nothing named like a checkpoint is partial; the previous one is intact.
    assert sorted(p for p in os.listdir(work_dir) if p.endswith('.pth')) \
        == ['iter_1.pth']
    iter_1 = str(work_dir / 'iter_1.pth')
    assert (work_dir / 'last_checkpoint').read_text() == iter_1
    assert load_checkpoint_file(iter_1)['meta']['iter'] == 1

    # --resume continues from iteration 1 and finishes the run.
    cfg = tiny_cfg(config, work_dir, resume=True)
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h.type != 'SlowCheckpointWriteHook'
    ]
    train_in_process(cfg)
    log = read_logs(work_dir)
    assert 'resumed epoch: 0, iter: 1' in log
    assert 'iter_2.pth.partial: a checkpoint write that did not finish' in log
    assert sorted(p for p in os.listdir(work_dir) if 'pth' in p) == \
        ['iter_2.pth']  # rotation after the new file was written
    assert load_checkpoint_file(str(work_dir /
                                    'iter_2.pth'))['meta']['iter'] == 2


# -- case 1: disk full -------------------------------------------------------
def test_disk_full_names_file_and_keeps_previous_checkpoint(
        tmp_path, monkeypatch):
    put = LocalBackend.put
    calls = []

    def put_on_full_disk(self, obj, filepath):
        if '.pth' in osp.basename(str(filepath)):
            calls.append(filepath)
            if len(calls) == 2:  # iter_2: half of it fits, then ENOSPC
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                raise OSError(errno.ENOSPC, 'No space left on device')
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put_on_full_disk)
    work_dir = tmp_path / 'work'
    cfg = tiny_cfg(
        _config(tmp_path), work_dir,
        **{'default_hooks.checkpoint.max_keep_ckpts': 1})
    with pytest.raises(
            OSError,
            match=r'cannot write .*iter_2\.pth: no space '
            'left on device; the partial file was removed'):
        train_in_process(cfg)
    assert sorted(p for p in os.listdir(work_dir) if 'pth' in p) == \
        ['iter_1.pth']  # no partial file, no partial iter_2.pth
    assert (work_dir / 'last_checkpoint').read_text() == \
        str(work_dir / 'iter_1.pth')
    assert load_checkpoint_file(str(work_dir /
                                    'iter_1.pth'))['meta']['iter'] == 1


# -- case 5: corrupted tensor data -------------------------------------------
def test_flipped_bytes_are_detected_on_load_and_resume(trained, tmp_path):
    config, src = trained
    work_dir = _copy_checkpoints(src, tmp_path / 'work')
    ckpt = str(work_dir / 'iter_2.pth')
    assert len(load_checkpoint_file(ckpt)['meta']['sha256']) == 64
    flip_tensor_bytes(ckpt)
    with pytest.raises(ValueError, match=r'iter_2\.pth is corrupted'):
        load_checkpoint_file(ckpt)
    cfg = tiny_cfg(config, work_dir, resume=True, load_from=ckpt)
    with pytest.raises(ValueError, match=r'iter_2\.pth is corrupted'):
        build_runner(cfg)


# -- case 2: --resume without last_checkpoint --------------------------------
def test_resume_without_last_checkpoint_uses_newest_valid(trained, tmp_path):
    config, src = trained
    work_dir = _copy_checkpoints(src, tmp_path / 'copied')
    assert not (work_dir / 'last_checkpoint').exists()
    train_in_process(
        tiny_cfg(config, work_dir, resume=True, **{'train_cfg.max_iters': 3}))
    log = read_logs(work_dir)
    assert (f'has no usable last_checkpoint; resuming from the newest valid '
            f'checkpoint {work_dir}/iter_2.pth') in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert load_checkpoint_file(str(work_dir /
                                    'iter_3.pth'))['meta']['iter'] == 3


def test_resume_skips_a_corrupted_newest_checkpoint(trained, tmp_path):
    config, src = trained
    work_dir = _copy_checkpoints(src, tmp_path / 'copied')
    flip_tensor_bytes(str(work_dir / 'iter_2.pth'))
    cfg = tiny_cfg(config, work_dir, resume=True)
    build_runner(cfg)
    assert cfg.load_from == str(work_dir / 'iter_1.pth')
    log = read_logs(work_dir)
    assert f'skipping {work_dir}/iter_2.pth' in log and 'corrupted' in log


def test_fresh_run_announces_overwriting_an_earlier_run(trained, tmp_path):
    config, src = trained
    work_dir = _copy_checkpoints(src, tmp_path / 'copied')
    train_in_process(tiny_cfg(config, work_dir, **{'train_cfg.max_iters': 1}))
    log = read_logs(work_dir)
    assert 'holds 2 checkpoint(s) of an earlier run' in log
    assert 'pass `--resume`' in log
    assert f'Overwriting {work_dir}/iter_1.pth, a checkpoint of an earlier ' \
        'run' in log


# -- case 13: --resume from a checkpoint of another model ------------------
def test_resume_from_checkpoint_of_another_model(trained, tmp_path):
    config, src = trained
    cfg = tiny_cfg(
        config,
        tmp_path / 'other',
        resume=True,
        load_from=str(src / 'iter_2.pth'),
        **{'model.region_sim_head': None})
    with pytest.raises(
            ValueError,
            match=r'iter_2\.pth: cannot resume from '
            r'it: it is a checkpoint of another model .*'
            r'region_sim_head\.\*'):
        build_runner(cfg)
