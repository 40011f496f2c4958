# Copyright (c) densesiam_mm contributors. All rights reserved.
"""One user of a work dir at a time (issue 18, item 5): ``lock_work_dir``
and ``tools/train.py``, which holds it for the whole run."""
import errno
import fcntl
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from densesiam_mm.apis import WorkDirBusyError, lock_work_dir
from densesiam_mm.apis import work_dir_lock as lock_module
from ..conftest import REPO_ROOT, load_script
from ..test_reliability._utils import env, make_images, write_tiny_config

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')

# a holder that loads only work_dir_lock.py (stdlib), takes the lock, says
# so and then ends as told: 'exit' (leaving the block), 'os_exit' (without
# leaving it) or 'sleep' (until killed)
HOLDER = '''
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location('lock', sys.argv[1])
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
with lock.lock_work_dir(sys.argv[2], 'training'):
    print('locked', flush=True)
    sys.stdin.readline()
    if sys.argv[3] == 'os_exit':
        os._exit(0)
    if sys.argv[3] == 'sleep':
        time.sleep(600)
'''


def start_holder(work_dir, end):
    proc = subprocess.Popen([
        sys.executable, '-c', HOLDER, lock_module.__file__,
        str(work_dir), end
    ],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def assert_busy(work_dir, pid):
    with pytest.raises(WorkDirBusyError) as exc:
        with lock_work_dir(str(work_dir), 'dense probe'):
            pytest.fail('the block ran while the work dir was busy')
    message = str(exc.value)
    assert str(work_dir) in message and f'pid {pid}, training' in message
    assert '--work-dir' in message


def test_a_second_user_is_refused_with_the_owner(tmp_path):
    work_dir = tmp_path / 'work'
    with lock_work_dir(str(work_dir), 'training') as path:
        assert osp.dirname(path) == str(work_dir)
        with open(path) as f:
            assert f.read() == f'pid {os.getpid()}, training\n'
        assert_busy(work_dir, os.getpid())  # another open, same process
    with lock_work_dir(str(work_dir), 'dense probe'):  # released on exit
        pass


def test_released_when_the_block_raises(tmp_path):
    with pytest.raises(KeyError):
        with lock_work_dir(str(tmp_path), 'training'):
            raise KeyError('boom')
    with lock_work_dir(str(tmp_path), 'training'):
        pass


@pytest.mark.parametrize('end', ['exit', 'os_exit', 'sigkill'])
def test_released_when_the_holder_ends_however_it_ends(tmp_path, end):
    work_dir = tmp_path / 'work'
    holder = start_holder(work_dir, 'sleep' if end == 'sigkill' else end)
    try:
        assert_busy(work_dir, holder.pid)
        if end == 'sigkill':
            os.kill(holder.pid, signal.SIGKILL)
        else:
            holder.stdin.write('go\n')
            holder.stdin.flush()
        holder.wait(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    if end == 'sigkill':
        assert holder.returncode == -signal.SIGKILL
    with lock_work_dir(str(work_dir), 'training'):  # no stale lock
        pass


def test_a_file_system_without_locks_runs_unlocked_with_a_warning(
        tmp_path, monkeypatch):

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, 'flock', no_locks)
    ran = []
    with pytest.warns(UserWarning, match='does not support locks'):
        with lock_work_dir(str(tmp_path), 'training'):
            ran.append(True)
    assert ran


def _snapshot(folder):
    return {
        osp.relpath(osp.join(root, name), folder):
        os.stat(osp.join(root, name)).st_mtime_ns
        for root, dirs, files in os.walk(folder)
        for name in dirs + files
    }


def test_a_second_training_in_a_busy_work_dir_is_refused_at_once(tmp_path):
    """Was: the second training ran, overwrote the first's config dump and
    died with a misleading "partial file was removed" error."""
    config = write_tiny_config(tmp_path / 'tiny.py',
                               make_images(tmp_path / 'images', num=2))
    work_dir = tmp_path / 'work'
    with lock_work_dir(str(work_dir), 'training'):
        # what the first training has written so far
        (work_dir / 'tiny.py').write_text('# the first run\'s config\n')
        (work_dir / '20240101_000000').mkdir()
        before = _snapshot(str(work_dir))
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, TRAIN, config, '--work-dir',
             str(work_dir)],
            cwd=REPO_ROOT,
            env=env(),
            capture_output=True,
            text=True,
            timeout=300)
        took = time.monotonic() - started
        assert proc.returncode != 0, proc.stdout[-2000:]
        assert f'error: {work_dir} is in use by another process (pid ' \
            f'{os.getpid()}, training)' in proc.stderr, proc.stderr[-3000:]
        assert 'Traceback' not in proc.stderr
        assert _snapshot(str(work_dir)) == before  # nothing new, no dump
        assert (work_dir / 'tiny.py').read_text() == \
            '# the first run\'s config\n'
    # refused before anything is built (no model, data or Runner)
    assert took < 120, took


@pytest.mark.parametrize('launcher, variables, rank',
                         [('none', {}, 0), ('none', dict(RANK='3'), 0),
                          ('pytorch', dict(RANK='0', LOCAL_RANK='0'), 0),
                          ('pytorch', dict(RANK='1', LOCAL_RANK='1'), 1),
                          ('pytorch', dict(LOCAL_RANK='2'), 2),
                          ('slurm', dict(SLURM_PROCID='5'), 5),
                          ('mpi', dict(OMPI_COMM_WORLD_RANK='1'), 1)])
def test_only_rank_0_of_a_distributed_run_takes_the_lock(
        tmp_path, monkeypatch, launcher, variables, rank):
    """All ranks of one run share the work dir: rank 0 holds the lock, the
    others must not be refused by it."""
    for name in ('RANK', 'LOCAL_RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    tool = load_script(TRAIN)
    assert tool.launch_rank(launcher) == rank
    from mmengine.config import Config
    cfg = Config(dict(launcher=launcher, work_dir=str(tmp_path)))
    with lock_work_dir(str(tmp_path), 'training'):  # rank 0 of this run
        if rank == 0:
            with pytest.raises(WorkDirBusyError):
                with tool.work_dir_owned(cfg):
                    pass
        else:
            with tool.work_dir_owned(cfg):
                pass
