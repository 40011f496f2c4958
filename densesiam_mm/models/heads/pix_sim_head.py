# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.geometry import sample_at_grid


@MODELS.register_module()
class PixSimHead(BaseModule):
    """PixSim: pixel similarity at corresponding points of two views.

    ``L = 1/2 [D(p1', sg(z2')) + D(p2', sg(z1'))]`` where ``z`` is the
    projector map of a view, ``p = h(z)`` the predictor map, and ``'`` means
    at the original-image points shared by both views: sampled at the
    ``K x K`` grid of a :class:`~.Correspondence`, or the maps themselves
    when they are already aligned cell by cell (dense
    :class:`~.AlignedViews`, no grid).

    Args:
        predictor (dict): the dense predictor h, e.g. ``DenseNonLinearNeck``.
        loss (dict): D, e.g. ``DenseSimilarityLoss(mode='cosine')``.
        sample_order (str): ``'proj_pred_sample'`` (default: predict on the
            whole map, then sample) or ``'proj_sample_pred'`` (sample the
            projector map, then predict on the ``K x K`` samples).
    """
    sample_orders = ('proj_pred_sample', 'proj_sample_pred')

    def __init__(self,
                 predictor: dict,
                 loss: dict,
                 sample_order: str = 'proj_pred_sample',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if sample_order not in self.sample_orders:
            raise ValueError(f'PixSimHead: unknown `sample_order` '
                             f'{sample_order!r}; choose one of '
                             f'{self.sample_orders}.')
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)
        self.sample_order = sample_order

    def predict_at_points(
            self, proj: torch.Tensor,
            grid: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stop-gradient target and prediction at the grid points of a view.

        Args:
            proj (Tensor): ``(B, C, H, W)`` projector map z.
            grid (Tensor, optional): ``(B, K, K, 2)`` sampling grid of the
                view; None: ``proj`` is already at the points (aligned).

        Returns:
            tuple[Tensor, Tensor]: ``(B, C, K, K)`` sg(z') (no graph) and p'.
        """
        if grid is None:
            return proj.detach(), self.predictor(proj)[0]
        if self.sample_order == 'proj_pred_sample':
            pred_points = sample_at_grid(self.predictor(proj)[0], grid)
            with torch.no_grad():
                proj_points = sample_at_grid(proj, grid)
            return proj_points, pred_points
        proj_points = sample_at_grid(proj, grid)
        return proj_points.detach(), self.predictor(proj_points)[0]

    def loss_at_points(self, proj_points1: torch.Tensor,
                       pred_points1: torch.Tensor, proj_points2: torch.Tensor,
                       pred_points2: torch.Tensor,
                       valid: torch.Tensor) -> torch.Tensor:
        """Symmetric PixSim loss of the outputs of :meth:`predict_at_points`.

        Args:
            proj_points1 (Tensor): ``(B, C, K, K)`` z1' (detached here).
            pred_points1 (Tensor): ``(B, C, K, K)`` p1'.
            proj_points2 (Tensor): z2' (detached here).
            pred_points2 (Tensor): p2'.
            valid (Tensor): ``(B,)`` bool pairs, or ``(B, K, K)`` points, to
                count.

        Returns:
            Tensor: scalar ``1/2 [D(p1', sg z2') + D(p2', sg z1')]``.
        """
        loss_1 = self.loss_module(pred_points1, proj_points2.detach(), valid)
        loss_2 = self.loss_module(pred_points2, proj_points1.detach(), valid)
        return 0.5 * (loss_1 + loss_2)

    def loss(self, proj1: torch.Tensor, proj2: torch.Tensor,
             corr) -> torch.Tensor:
        """Symmetric PixSim loss.

        Args:
            proj1 (Tensor): ``(B, C, H, W)`` projector map of view 1.
            proj2 (Tensor): ``(B, C, H, W)`` projector map of view 2.
            corr (Correspondence | AlignedViews): ``grid1``/``grid2`` (None
                for maps already aligned) and ``point_mask``, the pairs or
                points to count.

        Returns:
            Tensor: scalar loss; pairs without overlap do not contribute.
        """
        z1, p1 = self.predict_at_points(proj1, corr.grid1)
        z2, p2 = self.predict_at_points(proj2, corr.grid2)
        return self.loss_at_points(z1, p1, z2, p2, corr.point_mask)
