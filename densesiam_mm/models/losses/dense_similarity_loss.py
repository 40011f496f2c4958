# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.autocast import autocast_off


def masked_mean(per_sample: torch.Tensor,
                valid: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean of ``(B,)`` per-sample losses over the valid samples.

    With no valid sample the result is an exact zero that is still connected
    to the graph (zero gradient), never ``0 / 0``.
    """
    if valid is None:
        return per_sample.mean()
    weight = valid.to(per_sample.dtype)
    return (per_sample * weight).sum() / weight.sum().clamp(min=1)


@MODELS.register_module()
class DenseSimilarityLoss(BaseModule):
    """Similarity D between predictions and stop-gradient targets at points.

    ``mode='cosine'``: negative cosine similarity over channels (SimSiam's D).
    ``mode='cross_entropy'``: softmax cross-entropy over channels,
    ``-sum_c softmax(target / T)_c * log_softmax(pred / T)_c``
    (DenseSiam's D for clustering-style heads).

    Both are averaged over the points of a pair, then over valid pairs.
    Computed in float32, so the loss is AMP-safe.

    Args:
        mode (str): ``'cosine'`` or ``'cross_entropy'``.
        temperature (float): T of the cross-entropy mode. Defaults to 1.
    """
    modes = ('cosine', 'cross_entropy')

    def __init__(self,
                 mode: str = 'cosine',
                 temperature: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in self.modes:
            raise ValueError(f'DenseSimilarityLoss: unknown `mode` {mode!r}; '
                             f'choose one of {self.modes}.')
        if not temperature > 0:
            raise ValueError('DenseSimilarityLoss: `temperature` must be > 0, '
                             f'got {temperature!r}.')
        self.mode = mode
        self.temperature = temperature

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(B, C, ...)`` predictions at sampled points.
            target (Tensor): ``(B, C, ...)`` targets (detached by the caller).
            valid (Tensor, optional): ``(B,)`` bool, pairs to count; or
                ``(B, ...)`` bool, points to count (dense correspondence):
                then the mean is over all counted points of the batch.

        Returns:
            Tensor: scalar loss.
        """
        # float32, autocast off: a cosine or a softmax in fp16 loses the
        # small differences the loss is made of (and exp overflows)
        with autocast_off(pred.device.type):
            pred = pred.float().flatten(2)
            target = target.float().flatten(2)
            if self.mode == 'cosine':
                per_point = -(F.normalize(pred, dim=1) *
                              F.normalize(target, dim=1)).sum(dim=1)
            else:
                per_point = -(
                    F.softmax(target / self.temperature, dim=1) *
                    F.log_softmax(pred / self.temperature, dim=1)).sum(dim=1)
            if valid is not None and valid.dim() > 1:
                weight = valid.flatten(1).to(per_point.dtype)
                return (per_point * weight).sum() / weight.sum().clamp(min=1)
            return masked_mean(per_point.mean(dim=1), valid)
