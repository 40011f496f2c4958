# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class RebalancedPseudoLabelLoss(BaseModule):
    """Cross-entropy to pseudo labels, rebalanced over the pseudo classes.

    With ``rebalance=True`` every pseudo class present in the batch weighs
    the same, whatever its number of points: with ``n_c`` the number of
    counted points labelled ``c`` and ``w_c = 1 / n_c``,

    ``L = sum_i w_{y_i} CE(logits_i, y_i) / sum_i w_{y_i}``

    i.e. the mean over present classes of each class's mean CE (the same as
    ``F.cross_entropy(weight=w)`` with the inverse pseudo-label frequencies
    of the batch). This keeps one dominant cluster from taking all pixels.
    ``rebalance=False`` gives the plain mean CE over the counted points.

    Points of pairs marked invalid (views without overlap) are not counted;
    with no counted point the loss is an exact, finite zero.
    Computed in float32 (AMP-safe).

    Args:
        rebalance (bool): inverse-frequency class weights. Defaults to True.
    """

    def __init__(self, rebalance: bool = True, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.rebalance = rebalance

    def forward(self,
                logits: torch.Tensor,
                labels: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, N, ...)`` class scores.
            labels (Tensor): ``(B, ...)`` int64 pseudo labels in
                ``0..N-1`` (detached by the caller).
            valid (Tensor, optional): ``(B,)`` bool, images to count.

        Returns:
            Tensor: scalar loss.
        """
        num_classes = logits.size(1)
        logits = logits.float().flatten(2).transpose(1, 2)  # (B, P, N)
        labels = labels.flatten(1)  # (B, P)
        if labels.shape != logits.shape[:2]:
            raise ValueError(
                'RebalancedPseudoLabelLoss: labels of shape '
                f'{tuple(labels.shape)} do not match logits of shape '
                f'{tuple(logits.shape)} (points).')
        per_point = F.cross_entropy(
            logits.reshape(-1, num_classes), labels.reshape(-1),
            reduction='none')
        weight = torch.ones_like(labels, dtype=per_point.dtype)
        if valid is not None:
            weight = weight * valid.to(weight.dtype)[:, None]
        weight = weight.reshape(-1)
        if self.rebalance:
            counts = torch.bincount(
                labels.reshape(-1), weights=weight, minlength=num_classes)
            weight = weight / counts[labels.reshape(-1)].clamp(min=1)
        return (per_point * weight).sum() / weight.sum().clamp(min=1e-12)
