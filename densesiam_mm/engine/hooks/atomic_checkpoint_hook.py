# Copyright (c) densesiam_mm contributors. All rights reserved.
"""mmengine's ``CheckpointHook`` with checkpoints that are never lost."""
import glob
import os.path as osp
from collections import deque
from typing import Dict, List, Set

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ...checkpoint.atomic import remove_partial_files, save_text_atomically
from ...checkpoint.checksum import add_checksum
from ...checkpoint.resume import checkpoint_step, list_checkpoints
from ..fileio import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend


class DeferredRemoval:
    """A file backend whose ``remove``/``rmtree`` wait until :meth:`flush`;
    every other method is the wrapped backend's."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.pending: List[tuple] = []

    def remove(self, path) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path) -> None:
        self.pending.append(('rmtree', path))

    def flush(self) -> None:
        """Do the removals asked for so far."""
        for method, path in self.pending:
            getattr(self.backend, method)(path)
        self.pending.clear()

    def __getattr__(self, name):
        return getattr(self.backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that never loses a checkpoint.

    mmengine's hook deletes the oldest checkpoint before writing the new one
    and writes the new one in place: a SIGKILL or a full disk during the
    write leaves a truncated ``iter_N.pth`` and, with ``max_keep_ckpts=1``,
    no checkpoint at all. This hook, on local disks:

    - writes every checkpoint through the ``'atomic_local'`` file backend
      (:class:`~densesiam_mm.engine.fileio.AtomicLocalBackend`): to
      ``<name>.partial`` in the same folder, ``fsync``-ed and renamed
      (atomic), so a file named like a checkpoint is always complete; a
      failed write (e.g. disk full) raises an ``OSError`` naming the file
      and removes the partial file;
    - stores a sha256 of the checkpoint's tensors in ``meta['sha256']``
      and per-tensor digests in ``meta['sha256_tensors']``, which tell a
      file edited on purpose from a corrupted one (verified by every load
      through ``densesiam_mm.checkpoint``: resume, ``load_from``,
      ``Pretrained`` init, test, demo, converters);
    - updates ``last_checkpoint`` atomically, after the checkpoint;
    - only then removes the checkpoints beyond ``max_keep_ckpts`` (and the
      previous best checkpoint with ``save_best``);
    - at the start of training removes ``*.partial`` files left by a killed
      run and warns about checkpoints of an earlier run in the folder that
      this run would overwrite, and again when it overwrites one.

    It extends only public points of mmengine: the file backend registry,
    the hook methods (``before_train``, ``after_train_iter``,
    ``after_train_epoch``, ``after_val_epoch``, ``before_save_checkpoint``)
    and ``Runner.save_checkpoint``. ``max_keep_ckpts`` is applied by this
    hook after each write (:attr:`max_keep_after_write`); the parent class
    sees ``max_keep_ckpts=-1``, so it never removes a checkpoint before the
    new one is written. ``keep_ckpt_ids`` is kept in the message hub as
    mmengine does, so a resumed run goes on rotating the same files.

    ``tools/train.py`` (and ``mim train``, which runs it) uses this hook in
    place of ``CheckpointHook`` for every config
    (:func:`densesiam_mm.apis.build_runner`). Remote storage backends (or
    explicit ``backend_args``/``file_client_args``) keep their own writes,
    with the checksum, the atomic ``last_checkpoint`` and rotation after the
    write.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_keep_after_write: int = self.max_keep_ckpts
        self.max_keep_ckpts = -1
        self.keep_ckpt_ids: deque = deque()
        self.written: Set[str] = set()
        self.atomic = False

    # -- start ---------------------------------------------------------------
    def before_train(self, runner) -> None:
        out_dir = runner.work_dir if self.out_dir is None else self.out_dir
        if self.file_client_args is None and self.backend_args is None \
                and type(get_file_backend(out_dir)) is LocalBackend:
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().before_train(runner)
        self.written = set()
        self.atomic = isinstance(self.file_backend, AtomicLocalBackend)
        self.keep_ckpt_ids = deque()
        if self.max_keep_after_write > 0:
            info = runner.message_hub.runtime_info
            self.keep_ckpt_ids = deque(info.get('keep_ckpt_ids', []))
            stale = []
            while len(self.keep_ckpt_ids) > self.max_keep_after_write:
                stale.append(self.keep_ckpt_ids.popleft())
            self.remove_checkpoints(stale)
        if not (self.atomic and is_main_process()):
            return
        for path in remove_partial_files(self.out_dir):
            runner.logger.warning(
                f'Removed {path}: a checkpoint write that did not finish '
                '(the run was killed while writing it).')
        self.warn_about_earlier_run(runner)

    def warn_about_earlier_run(self, runner) -> None:
        """Warn about checkpoints in ``out_dir`` beyond this run's start."""
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

    # -- periodic checkpoints ----------------------------------------------
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Save every ``interval`` iterations (and the last one)."""
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) \
                or (self.save_last and self.is_last_train_iter(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.iter + 1} iterations')
            step = runner.iter + 1
            self.save_step(runner, step, dict(epoch=runner.epoch, iter=step))

    def after_train_epoch(self, runner) -> None:
        """Save every ``interval`` epochs (and the last one)."""
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_epoch(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.epoch + 1} epochs')
            step = runner.epoch + 1
            self.save_step(runner, step, dict(epoch=step, iter=runner.iter))

    def save_step(self, runner, step: int, meta: dict) -> None:
        """Write ``filename_tmpl.format(step)`` to ``out_dir``, then
        ``last_checkpoint``, then remove the checkpoints beyond
        ``max_keep_ckpts``."""
        stale = []
        if self.max_keep_after_write > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            self.keep_ckpt_ids.append(step)
            while len(self.keep_ckpt_ids) > self.max_keep_after_write:
                stale.append(self.keep_ckpt_ids.popleft())
            # In the message hub before the write, so the checkpoint holds it
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self.warn_before_overwriting(runner, self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        self.written.add(self.last_ckpt)
        if not is_main_process():
            return
        save_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        # Rotation only now that the new checkpoint is safely on disk.
        self.remove_checkpoints(stale)

    def warn_before_overwriting(self, runner, path: str) -> None:
        """Warn when ``path`` is a file that this run did not write."""
        if self.atomic and is_main_process() and osp.isfile(path) \
                and path not in self.written:
            runner.logger.warning(
                f'Overwriting {path}, a checkpoint of an earlier run.')

    def remove_checkpoints(self, steps: List[int]) -> None:
        """Remove the checkpoints of ``steps`` (main process only)."""
        if not is_main_process():
            return
        for step in steps:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)

    # -- best checkpoints ----------------------------------------------------
    def after_val_epoch(self, runner, metrics) -> None:
        """mmengine's ``save_best`` logic, with the previous best removed
        only after the new best is written.

        mmengine then saves the last checkpoint again (so that it records
        the new best); this hook does that itself, through
        :meth:`save_step` (atomic ``last_checkpoint``, rotation after the
        write).
        """
        if not self.save_best:
            super().after_val_epoch(runner, metrics)
            return
        cur = runner.epoch if self.by_epoch else runner.iter
        earlier = self.earlier_best_files(cur)
        scores = self.best_scores(runner)
        backend, last_ckpt = self.file_backend, self.last_ckpt
        deferred = DeferredRemoval(backend)
        self.file_backend = deferred
        # `last_ckpt=None`: mmengine does not save it again; done below.
        self.last_ckpt = None
        try:
            super().after_val_epoch(runner, metrics)
        finally:
            self.file_backend = backend
            if self.last_ckpt is None:
                self.last_ckpt = last_ckpt
        if is_main_process():
            deferred.flush()
        if self.best_scores(runner) == scores:
            return
        for path in self.best_paths():
            if path in earlier:
                runner.logger.warning(
                    f'Overwrote {path}, a checkpoint of an earlier run.')
            self.written.add(path)
        if last_ckpt is not None:
            self.save_step(runner, cur,
                           dict(epoch=runner.epoch, iter=runner.iter))

    @staticmethod
    def best_scores(runner) -> Dict[str, float]:
        """The best scores so far (``best_score*`` in the message hub)."""
        return {
            key: value
            for key, value in runner.message_hub.runtime_info.items()
            if key.startswith('best_score')
        }

    def best_paths(self) -> List[str]:
        """The current best checkpoint(s)."""
        paths = [getattr(self, 'best_ckpt_path', None)]
        paths += list(getattr(self, 'best_ckpt_path_dict', {}).values())
        return [str(path) for path in paths if path]

    def earlier_best_files(self, step: int) -> Set[str]:
        """Best checkpoints of ``step`` in ``out_dir`` not written by this
        run (mmengine names them ``best_{metric}_{filename}``)."""
        if not (self.atomic and is_main_process()):
            return set()
        pattern = osp.join(
            glob.escape(self.out_dir),
            'best_*_' + glob.escape(self.filename_tmpl.format(step)))
        return set(glob.glob(pattern)) - self.written

    # -- every checkpoint ----------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # The lowest priority: after every other hook changed the checkpoint.
        add_checksum(checkpoint)
