# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Fault injection for the checkpoint tests: a slow disk.

``SlowCheckpointWriteHook(nth=2)`` makes the ``nth`` write of a checkpoint
file (``*.pth*``, opened for binary writing under the work dir) go at about
``mb_per_s`` MB/s, and creates ``<work_dir>/WRITING`` once the first MB of
that write is on disk, so that a test can SIGKILL the process in the middle
of it. It patches ``builtins.open`` (what mmengine's ``LocalBackend.put``
and this project's atomic writer both use) and restores it after the run.
"""
import builtins
import os.path as osp
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

CHUNK = 1 << 20


class _SlowFile:

    def __init__(self, file, marker, delay):
        self._file, self._marker, self._delay = file, marker, delay

    def write(self, data):
        view = memoryview(data).cast('B')
        for start in range(0, len(view), CHUNK):
            self._file.write(view[start:start + CHUNK])
            self._file.flush()
            if self._marker:
                with builtins.open(self._marker, 'w') as f:
                    f.write(self._file.name)
                self._marker = None
            time.sleep(self._delay)
        return len(view)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def __getattr__(self, name):
        return getattr(self._file, name)


@HOOKS.register_module()
class SlowCheckpointWriteHook(Hook):

    def __init__(self, nth: int = 2, mb_per_s: float = 10.) -> None:
        self.nth = nth
        self.delay = 1. / mb_per_s
        self._open = None

    def before_train(self, runner) -> None:
        work_dir = osp.abspath(runner.work_dir)
        original = self._open = builtins.open
        count = [0]

        def open_slowly(file, mode='r', *args, **kwargs):
            f = original(file, mode, *args, **kwargs)
            path = osp.abspath(str(file))
            if 'w' in mode and 'b' in mode and path.startswith(work_dir) \
                    and '.pth' in osp.basename(path):
                count[0] += 1
                if count[0] == self.nth:
                    return _SlowFile(f, osp.join(work_dir, 'WRITING'),
                                     self.delay)
            return f

        builtins.open = open_slowly

    def after_run(self, runner) -> None:
        if self._open is not None:
            builtins.open = self._open
