# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..utils.autocast import autocast_off


@MODELS.register_module()
class RebalancedPseudoLabelLoss(BaseModule):
    """Cross-entropy to pseudo labels with per-class weights.

    With ``n_c`` the number of counted points labelled ``c`` (``n`` in all),
    ``CE_i`` the cross-entropy of point ``i`` and ``w_c`` a class weight:

    - ``rebalance='proportional'`` - the authors' DenseSiam-Seg "rebalance"
      (``weight = counts / counts.sum()``, ``reduction='none'``, then the
      mean): ``w_c = n_c / n`` and ``L = 1/n sum_i w_{y_i} CE_i``. Frequent
      clusters weigh *more*; the loss scale is ``sum_c (n_c / n)^2 <= 1``
      times the plain CE.
    - ``rebalance='inverse'`` (``True``, this project's earlier default):
      ``w_c = 1 / n_c`` and ``L = sum_i w_{y_i} CE_i / sum_i w_{y_i}``, the
      mean over present classes of each class's mean CE: every pseudo class
      weighs the same, whatever its number of points.
    - ``rebalance='none'`` (``False``): the plain mean CE.

    The weights come from the labels of the call (the batch) unless
    ``class_weight`` is given (PiCIE: the epoch's cluster sizes); the
    normalisation is ``reduction``: ``'mean'`` (divide by ``n``) or
    ``'weighted_mean'`` (divide by ``sum_i w_{y_i}``, torch's
    ``F.cross_entropy(weight=...)``). By default ``'mean'`` for
    ``proportional`` (the authors' code) and ``'weighted_mean'`` otherwise.

    Points of pairs (``valid`` of shape ``(B,)``) or points (``(B, ...)``)
    marked invalid are not counted; with no counted point the loss is an
    exact, finite zero. Computed in float32 (AMP-safe).

    Args:
        rebalance (bool | str): ``'proportional'``, ``'inverse'`` (or
            True), ``'none'`` (or False). Defaults to True.
        reduction (str, optional): ``'mean'`` or ``'weighted_mean'``; None
            picks the default of ``rebalance`` (see above).
    """
    rebalances = ('proportional', 'inverse', 'none')
    reductions = ('mean', 'weighted_mean')

    def __init__(self,
                 rebalance: Union[bool, str] = True,
                 reduction: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(rebalance, bool):
            rebalance = 'inverse' if rebalance else 'none'
        if rebalance not in self.rebalances:
            raise ValueError(
                f'RebalancedPseudoLabelLoss: unknown `rebalance` '
                f'{rebalance!r}; choose one of {self.rebalances} (or a bool).')
        if reduction is None:
            reduction = 'mean' if rebalance == 'proportional' \
                else 'weighted_mean'
        if reduction not in self.reductions:
            raise ValueError(
                f'RebalancedPseudoLabelLoss: unknown `reduction` '
                f'{reduction!r}; choose one of {self.reductions}.')
        self.rebalance = rebalance
        self.reduction = reduction

    def forward(self,
                logits: torch.Tensor,
                labels: torch.Tensor,
                valid: Optional[torch.Tensor] = None,
                class_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, N, ...)`` class scores.
            labels (Tensor): ``(B, ...)`` int64 pseudo labels in
                ``0..N-1`` (detached by the caller).
            valid (Tensor, optional): ``(B,)`` bool, images to count, or
                ``(B, ...)`` bool, points to count.
            class_weight (Tensor, optional): ``(N,)`` fixed class weights
                ``w_c``, used instead of the batch's.

        Returns:
            Tensor: scalar loss.
        """
        # float32, autocast off: a softmax cross-entropy (see fp32.py)
        with autocast_off(logits.device.type):
            return self._forward(logits.float(), labels, valid, class_weight)

    def _forward(self, logits, labels, valid, class_weight):
        num_classes = logits.size(1)
        logits = logits.flatten(2).transpose(1, 2)  # (B, P, N)
        labels = labels.flatten(1)  # (B, P)
        if labels.shape != logits.shape[:2]:
            raise ValueError(
                'RebalancedPseudoLabelLoss: labels of shape '
                f'{tuple(labels.shape)} do not match logits of shape '
                f'{tuple(logits.shape)} (points).')
        per_point = F.cross_entropy(
            logits.reshape(-1, num_classes),
            labels.reshape(-1),
            reduction='none')
        count = torch.ones_like(labels, dtype=per_point.dtype)
        if valid is not None:
            valid = valid.to(count.dtype)
            count = count * (
                valid[:, None] if valid.dim() == 1 else valid.flatten(1))
        count = count.reshape(-1)
        flat_labels = labels.reshape(-1)
        if class_weight is not None:
            weight = count * class_weight.to(count)[flat_labels]
        elif self.rebalance == 'none':
            weight = count
        else:
            # per-class sums of the counts; not torch.bincount, whose
            # output size depends on the labels' maximum (a host-device
            # sync on CUDA): the same float32 sums, in a fixed-size tensor
            counts = count.new_zeros(num_classes).index_add_(
                0, flat_labels, count)
            if self.rebalance == 'inverse':
                weight = count / counts[flat_labels].clamp(min=1)
            else:
                weight = count * counts[flat_labels] / counts.sum().clamp(
                    min=1)
        norm = weight.sum() if self.reduction == 'weighted_mean' \
            else count.sum()
        return (per_point * weight).sum() / norm.clamp(min=1e-12)
