# Copyright (c) densesiam_mm contributors. All rights reserved.
"""One user of a work dir at a time."""
import contextlib
import errno
import fcntl
import os
import os.path as osp
import warnings

#: the lock file inside a work dir
LOCK_NAME = '.densesiam.lock'

#: ``flock`` errors of a file system without locks (some FUSE and network
#: file systems): the run goes on unlocked, with a warning
NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class WorkDirBusyError(RuntimeError):
    """Another process holds the work dir."""


@contextlib.contextmanager
def lock_work_dir(work_dir: str, what: str = 'training'):
    """Hold an exclusive lock on ``work_dir`` while the block runs.

    The lock is an ``flock`` on ``<work_dir>/.densesiam.lock`` (created if
    missing; the folder too), which also holds the owner's pid and purpose.
    The kernel releases it when the process ends, however it ends, so a
    killed run never leaves a stale lock. On a file system without locks
    the block runs unlocked, with a warning.

    Args:
        work_dir (str): the folder.
        what (str): what this process does there, for the other process's
            message (``'training'``, ``'dense probe'``).

    Raises:
        WorkDirBusyError: another process holds the lock; the message names
            the folder, its owner and what to do.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if _try_lock(fd, work_dir):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f'pid {os.getpid()}, {what}\n'.encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int, work_dir: str) -> bool:
    """Take the lock on ``fd``; False when the file system has no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as err:
        if err.errno in NO_LOCKS:
            warnings.warn(
                f'{work_dir}: the file system does not support locks '
                f'({err.strerror}); nothing stops a second run from using '
                'this work dir at the same time.')
            return False
        if err.errno not in (errno.EAGAIN, errno.EACCES):
            raise
    owner = os.pread(fd, 200, 0).decode(errors='replace').strip()
    owner = owner or 'pid unknown'
    raise WorkDirBusyError(
        f'{work_dir} is in use by another process ({owner}): two runs in '
        'one work dir would overwrite each other\'s checkpoints, logs and '
        'results. Wait for it to finish, or use another --work-dir.')
