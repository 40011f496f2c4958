# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Optimizer wrappers that never apply the update of a non-finite loss."""
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


class NaNGuardMixin:
    """``update_params`` that skips the update when the loss is not finite.

    The summed loss is checked before the backward pass; all ranks agree
    through an all-reduce of one flag (a no-op without a process group), so
    DDP never hangs on one rank's NaN. A non-finite loss on any rank skips
    the update on every rank: no backward, no step, gradients zeroed.

    :class:`~densesiam_mm.engine.hooks.NaNGuardHook` reports the skipped
    updates (which loss terms, which iteration, the last good checkpoint),
    restores the model's buffers and raises or goes on; it reads
    :attr:`skipped_updates`.

    Attributes:
        skipped_updates (int): updates skipped so far.
        last_update_skipped (bool): whether the latest call skipped.
    """
    skipped_updates: int = 0
    last_update_skipped: bool = False

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """``OptimWrapper.update_params`` unless ``loss`` (a tensor of any
        shape) has a non-finite element on some rank."""
        bad = torch.logical_not(torch.isfinite(loss.detach()).all())
        bad = bad.to(dtype=torch.float32, device=loss.device).reshape(1)
        all_reduce(bad)  # no-op without a process group
        # The one host-device sync of the step, kept: skipping an update
        # exactly (no backward, no optimizer step: momentum, Adam moments,
        # weight decay and step counts untouched) is a host decision, as in
        # torch's GradScaler.step; see docs/gpu.md.
        self.last_update_skipped = bool(bad.item() > 0)
        if self.last_update_skipped:
            self.skipped_updates += 1
            self.zero_grad(**(zero_kwargs or {}))
            return None
        return super().update_params(loss, step_kwargs, zero_kwargs)


@OPTIM_WRAPPERS.register_module()
class NaNGuardOptimWrapper(NaNGuardMixin, OptimWrapper):
    """mmengine's ``OptimWrapper`` (same arguments) whose ``update_params``
    skips the update of a non-finite loss (:class:`NaNGuardMixin`).

    Example:
        >>> optim_wrapper = dict(
        ...     type='NaNGuardOptimWrapper',
        ...     optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    """


@OPTIM_WRAPPERS.register_module()
class NaNGuardAmpOptimWrapper(NaNGuardMixin, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` (same arguments) whose
    ``update_params`` skips the update of a non-finite loss (checked before
    loss scaling; :class:`NaNGuardMixin`)."""
