# Copyright (c) densesiam_mm contributors. All rights reserved.
"""UniGrad loss (Tao et al., CVPR 2022), as SiameseIM uses it."""
import torch
from mmengine import dist
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from ..utils.autocast import autocast_off


def target_correlation(target: Tensor) -> Tensor:
    """``C = t^T t / N`` of ``(N, D)`` targets, averaged over processes
    (``mmengine.dist.all_reduce``; a no-op on one process). ``(D, D)``."""
    correlation = target.t() @ target / target.size(0)
    dist.all_reduce(correlation, op='mean')
    return correlation


@MODELS.register_module()
class UniGradLoss(nn.Module):
    """``L = (mean_i ||p_i - t_i||^2 + w * mean_i p_i^T C p_i) / D``.

    ``p`` are the predictions and ``t`` the (normalised, gradient-free)
    targets, flattened to ``(N, D)``; ``C`` is the ``D x D`` correlation of
    the targets over all processes (:func:`target_correlation`). The
    second term pushes the predictions apart along the directions the
    targets occupy. ``p_i^T C p_i`` is computed as ``((p @ C) * p).sum(-1)``:
    ``O(N D^2)`` time and ``O(N D)`` memory, the diagonal of ``p C p^T``
    without its ``N x N`` matrix. Computed in float32, autocast off.

    Args:
        neg_weight (float): w. Defaults to 0.02.
        loss_weight (float): multiplier of the loss. Defaults to 1.
    """

    def __init__(self,
                 neg_weight: float = 0.02,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.neg_weight = neg_weight
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """``(..., D)`` predictions and targets -> scalar loss."""
        if pred.shape != target.shape:
            raise ValueError(
                f'UniGradLoss: prediction {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} shapes differ.')
        dims = pred.size(-1)
        with autocast_off(pred.device.type):
            pred = pred.float().reshape(-1, dims)
            with torch.no_grad():
                target = target.float().reshape(-1, dims)
                correlation = target_correlation(target)
            pos_term = (pred - target).pow(2).sum(-1).mean()
            neg_term = ((pred @ correlation) * pred).sum(-1).mean()
            loss = (pos_term + self.neg_weight * neg_term) / dims
        return self.loss_weight * loss
