# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Stop (or skip) when a loss term becomes NaN or Inf."""
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import HOOKS as PRETRAIN_HOOKS
from mmseg.registry import HOOKS as SEG_HOOKS

from ..optimizers.nan_guard_optim_wrapper import NaNGuardMixin


def _is_finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    return math.isfinite(float(value))


def _to_float(value) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    return float(value)


@PRETRAIN_HOOKS.register_module()
@SEG_HOOKS.register_module()
class NaNGuardHook(Hook):
    """Never train on a non-finite loss.

    The update itself is guarded by the optimizer wrapper
    (:class:`~densesiam_mm.engine.optimizers.NaNGuardOptimWrapper` or
    ``NaNGuardAmpOptimWrapper``; ``tools/train.py`` swaps them in for
    ``OptimWrapper``/``AmpOptimWrapper`` when this hook is configured):
    before every optimizer update the summed loss is checked (all ranks
    agree through an all-reduce, so DDP never hangs on one rank's NaN) and a
    non-finite loss skips the update: no backward, no step, gradients
    zeroed. This hook then restores the model's buffers (BN running
    statistics) to their values before the iteration, names the non-finite
    terms of the logged losses (``loss_global``, ``loss_dense``, ...), the
    iteration (1-based, as in the log) and the last good checkpoint, and

    - ``action='raise'`` (default): raises ``FloatingPointError`` with that
      message; the weights in memory and on disk are those of the last good
      iteration;
    - ``action='skip'``: logs it as a warning with the running count and goes
      on with the next batch; once more than ``max_skips`` iterations were
      skipped it raises as above (a run that keeps producing NaN is broken).

    The learning-rate schedule still advances on a skipped iteration (it
    follows the iteration counter), so a resumed run stays aligned. With an
    optimizer wrapper that does not guard the update (a warning says so at
    the start), a non-finite loss still stops the run, after its update.

    Args:
        action (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        max_skips (int): with ``'skip'``, the most iterations skipped in a
            run before raising. Defaults to 10.
    """
    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hook

    def __init__(self, action: str = 'raise', max_skips: int = 10) -> None:
        if action not in ('raise', 'skip'):
            raise ValueError("NaNGuardHook: `action` must be 'raise' or "
                             f"'skip', got {action!r}.")
        if not (isinstance(max_skips, int) and max_skips >= 0):
            raise ValueError('NaNGuardHook: `max_skips` must be an int >= 0, '
                             f'got {max_skips!r}.')
        self.action = action
        self.max_skips = max_skips
        self.num_skipped = 0
        self._skipped_before = 0
        self._buffers: Optional[Dict[str, torch.Tensor]] = None

    # -- watching the update -------------------------------------------------
    @staticmethod
    def optim_wrappers(runner) -> List:
        """The runner's optimizer wrapper(s)."""
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return list(wrapper.values())
        return [wrapper]

    def skipped_updates(self, runner) -> int:
        """Updates skipped so far by the guarded optimizer wrappers."""
        return sum(
            w.skipped_updates for w in self.optim_wrappers(runner)
            if isinstance(w, NaNGuardMixin))

    def before_train(self, runner) -> None:
        unguarded = [
            type(w).__name__ for w in self.optim_wrappers(runner)
            if not isinstance(w, NaNGuardMixin)
        ]
        if unguarded:
            runner.logger.warning(
                f'NaNGuardHook: the optimizer wrapper ({", ".join(unguarded)})'
                ' does not check the loss before the update, so a non-finite '
                'loss stops the run only after its update was applied. Use '
                "optim_wrapper=dict(type='NaNGuardOptimWrapper', ...) (or "
                "'NaNGuardAmpOptimWrapper'); tools/train.py does this for "
                'OptimWrapper and AmpOptimWrapper.')

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(runner.model) \
            else runner.model

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._skipped_before = self.skipped_updates(runner)
        # Buffers are small (BN statistics): keep this iteration's start.
        self._buffers = {
            name: buf.detach().clone()
            for name, buf in self._model(runner).named_buffers()
        }

    # -- reporting ---------------------------------------------------------
    @staticmethod
    def last_good_checkpoint(runner) -> Optional[str]:
        """Latest checkpoint written (or resumed from) by this run, if any."""
        ckpt = runner.message_hub.get_info('last_ckpt')
        if ckpt:
            return ckpt
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                return f.read().strip() or None
        return None

    def _message(self, runner, terms: List[str], outputs: dict) -> str:
        if terms:
            values = ', '.join(f'{k}={_to_float(outputs[k])}' for k in terms)
            what = f'non-finite loss term(s) {", ".join(terms)} ({values})'
        else:
            what = 'a non-finite loss on another rank'
        ckpt = self.last_good_checkpoint(runner)
        if ckpt:
            where = f'the last good checkpoint is {ckpt}'
            # `--resume` restores the optimizer (its lr) and the schedule.
            advice = (
                'Resume with `--resume` after clipping gradients '
                '(optim_wrapper.clip_grad in the config, which `--resume` '
                'applies). `--resume` restores the learning rate from the '
                'checkpoint (optimizer and schedule), so a lower lr in the '
                'config has no effect on a resumed run (`tools/train.py '
                '--resume` warns about such a difference before training): '
                'to train with a '
                "lower learning rate, start from the checkpoint's weights "
                f'without `--resume` (`--cfg-options load_from={ckpt}`: the '
                'iteration count, optimizer state and schedule start again) '
                'or start the run again.')
        else:
            where = 'no checkpoint has been written yet'
            advice = ('There is nothing to resume from: start the run again '
                      'after lowering the learning rate or clipping '
                      'gradients (optim_wrapper.clip_grad).')
        return (f'NaNGuardHook: {what} at iteration {runner.iter + 1}; the '
                f'update of this iteration was not applied, and {where}. '
                f'{advice}')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        outputs = outputs or {}
        terms = [
            k for k, v in outputs.items() if 'loss' in k and not _is_finite(v)
        ]
        # Name the individual terms; `loss` (their sum) only if none is bad.
        if len(terms) > 1 and 'loss' in terms:
            terms.remove('loss')
        skipped = self.skipped_updates(runner) > self._skipped_before
        if not (terms or skipped):
            return
        if not skipped:
            # A model whose train_step does not call update_params: the
            # update already happened, so stop whatever the action.
            raise FloatingPointError(
                self._message(runner, terms, outputs).replace(
                    'the update of this iteration was not applied',
                    'the update of this iteration WAS applied'))
        if self._buffers is not None:
            for name, buf in self._model(runner).named_buffers():
                if name in self._buffers:
                    buf.copy_(self._buffers[name])
        message = self._message(runner, terms, outputs)
        if self.action == 'raise':
            raise FloatingPointError(message)
        self.num_skipped += 1
        if self.num_skipped > self.max_skips:
            raise FloatingPointError(
                f'{message} Stopping: {self.num_skipped} iterations skipped '
                f'(max_skips={self.max_skips}).')
        runner.logger.warning(
            f'{message} Skipped iteration {self.num_skipped} of at most '
            f'{self.max_skips}.')
