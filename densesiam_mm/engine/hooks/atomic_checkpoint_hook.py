# Copyright (c) densesiam_mm contributors. All rights reserved.
"""mmengine's ``CheckpointHook`` with checkpoints that are never lost."""
import os.path as osp
from typing import List

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ...utils.atomic_io import (remove_partial_files, save_text_atomically,
                                write_atomically)
from ...utils.checkpoint import add_checksum
from ...utils.resume import checkpoint_step, list_checkpoints


class _DeferredRemoval:
    """A file backend whose ``remove``/``rmtree`` wait until :meth:`flush`."""

    def __init__(self, backend):
        self._backend = backend
        self._pending: List[tuple] = []

    def remove(self, path):
        self._pending.append(('remove', path))

    def rmtree(self, path):
        self._pending.append(('rmtree', path))

    def flush(self):
        for method, path in self._pending:
            getattr(self._backend, method)(path)
        self._pending.clear()

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that never loses a checkpoint.

    mmengine's hook deletes the oldest checkpoint before writing the new one
    and writes the new one in place: a SIGKILL or a full disk during the
    write leaves a truncated ``iter_N.pth`` and, with ``max_keep_ckpts=1``,
    no checkpoint at all. This hook, on local disks:

    - writes every checkpoint to ``<name>.partial`` in the same folder,
      ``fsync``-s it and renames it (atomic): a file named like a
      checkpoint is always complete; a failed write (e.g. disk full) raises
      an ``OSError`` naming the file and removes the partial file;
    - stores a sha256 of the checkpoint's tensors in ``meta['sha256']``
      (verified by every load through ``densesiam_mm.utils``: resume,
      ``load_from``, ``Pretrained`` init, test, demo, converters);
    - updates ``last_checkpoint`` atomically, after the checkpoint;
    - only then removes the checkpoints beyond ``max_keep_ckpts`` (and the
      previous best checkpoint with ``save_best``);
    - at the start of training removes ``*.partial`` files left by a killed
      run and warns about checkpoints of an earlier run in the folder that
      this run would overwrite, and again when it overwrites one.

    ``tools/train.py`` (and ``mim train``, which runs it) uses this hook in
    place of ``CheckpointHook`` for every config
    (:func:`densesiam_mm.apis.build_runner`). Remote storage backends keep
    mmengine's behaviour (plus the checksum).
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._written = set()
        self._local = isinstance(self.file_backend, LocalBackend)
        if not (self._local and is_main_process()):
            return
        for path in remove_partial_files(self.out_dir):
            runner.logger.warning(
                f'Removed {path}: a checkpoint write that did not finish '
                '(the run was killed while writing it).')
        self._warn_about_earlier_run(runner)

    def _warn_about_earlier_run(self, runner) -> None:
        done = runner.epoch if self.by_epoch else runner.iter
        templates = (self.filename_tmpl, )
        later = [
            osp.basename(path)
            for path in list_checkpoints(self.out_dir, templates)
            if checkpoint_step(path, templates) > done
        ]
        if not later:
            return
        start = 'from scratch' if done == 0 else \
            f'at {"epoch" if self.by_epoch else "iteration"} {done}'
        runner.logger.warning(
            f'{self.out_dir} holds {len(later)} checkpoint(s) of an earlier '
            f'run beyond the start of this run ({", ".join(later[-5:])}); '
            f'this run starts {start} and will overwrite them as it reaches '
            'them. To continue the earlier run instead, stop and pass '
            '`--resume`.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # The lowest priority: after every other hook changed the checkpoint.
        add_checksum(checkpoint)

    # -- writing -----------------------------------------------------------
    def _save(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` to ``out_dir/filename``, atomically."""
        save = type(runner).save_checkpoint  # not an instance patch
        common = dict(file_client_args=self.file_client_args,
                      backend_args=self.backend_args)
        if not (getattr(self, '_local', False) and is_main_process()):
            save(runner, self.out_dir, filename, **common, **kwargs)
            return
        target = osp.join(self.out_dir, filename)
        if osp.isfile(target) and target not in self._written:
            runner.logger.warning(
                f'Overwriting {target}, a checkpoint of an earlier run.')
        write_atomically(
            target,
            lambda partial: save(runner, self.out_dir, osp.basename(partial),
                                 **common, **kwargs))
        self._written.add(target)

    def _save_checkpoint_with_step(self, runner, step, meta):
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        self._save(runner,
                   filename,
                   save_optimizer=self.save_optimizer,
                   save_param_scheduler=self.save_param_scheduler,
                   meta=meta,
                   by_epoch=self.by_epoch,
                   **self.args)
        if not is_main_process():
            return
        save_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'),
                             self.last_ckpt)
        # Rotation only now that the new checkpoint is safely on disk.
        for old_step in stale:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's logic, with atomic writes and the previous best
        removed only after the new best is written."""
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)

        def save_checkpoint(out_dir,
                            filename,
                            file_client_args=None,
                            backend_args=None,
                            **kwargs):
            self._save(runner, filename, **kwargs)

        self.file_backend = deferred
        runner.save_checkpoint = save_checkpoint
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
            del runner.save_checkpoint  # the class method again
        if is_main_process():
            deferred.flush()
