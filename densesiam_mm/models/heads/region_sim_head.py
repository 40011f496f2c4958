# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.geometry import Correspondence, sample_at_grid


def region_embeddings(mask_logits: torch.Tensor,
                      feats: torch.Tensor) -> torch.Tensor:
    """Region embeddings from soft masks and features at the same points.

    ``r_n = sum_k softmax_n(mask_logits)[n, k] * feats[:, k]``.

    Args:
        mask_logits (Tensor): ``(B, N, K, K)`` projector outputs at the grid;
            each of the N channels is one region.
        feats (Tensor): ``(B, C, K, K)`` encoder features at the grid.

    Returns:
        Tensor: ``(B, N, C)`` region embeddings (computed in float32).
    """
    masks = mask_logits.float().flatten(2).softmax(dim=1)
    return torch.einsum('bnk,bck->bnc', masks, feats.float().flatten(2))


@MODELS.register_module()
class RegionSimHead(BaseModule):
    """RegionSim: InfoNCE between matching region embeddings of two views.

    Region embeddings (:func:`region_embeddings`) of each view go through a
    projector g' and predictor h' (MLPs); the loss is
    ``1/2 [L(h'(g'(r1)), sg(g'(r2))) + L(h'(g'(r2)), sg(g'(r1)))]`` with
    ``L`` an InfoNCE over the regions of each image.

    Args:
        projector (dict): g', e.g. ``NonLinearNeck(with_avg_pool=False)``.
        predictor (dict): h', e.g. ``NonLinearNeck(with_avg_pool=False)``.
        loss (dict): e.g. ``RegionInfoNCELoss(temperature=0.2)``.
    """

    def __init__(self,
                 projector: dict,
                 predictor: dict,
                 loss: dict,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.projector = MODELS.build(projector)
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)

    def embed(self, mask_map: torch.Tensor, feat_map: torch.Tensor,
              grid: torch.Tensor):
        """Projected and predicted region embeddings of one view.

        Args:
            mask_map (Tensor): ``(B, N, H, W)`` region logits (projector map).
            feat_map (Tensor): ``(B, C, H', W')`` encoder features.
            grid (Tensor): ``(B, K, K, 2)`` sampling grid of the view.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, D)`` g'(r) and h'(g'(r)).
        """
        regions = region_embeddings(
            sample_at_grid(mask_map, grid), sample_at_grid(feat_map, grid))
        num_images, num_regions = regions.shape[:2]
        regions = regions.to(feat_map.dtype).flatten(0, 1)
        proj = self.projector([regions])[0]
        pred = self.predictor([proj])[0]
        return (proj.view(num_images, num_regions, -1),
                pred.view(num_images, num_regions, -1))

    def loss(self, mask_map1: torch.Tensor, feat_map1: torch.Tensor,
             mask_map2: torch.Tensor, feat_map2: torch.Tensor,
             corr: Correspondence) -> torch.Tensor:
        """Symmetric RegionSim loss; pairs without overlap do not count."""
        z1, p1 = self.embed(mask_map1, feat_map1, corr.grid1)
        z2, p2 = self.embed(mask_map2, feat_map2, corr.grid2)
        loss_1 = self.loss_module(p1, z2.detach(), corr.valid)
        loss_2 = self.loss_module(p2, z1.detach(), corr.valid)
        return 0.5 * (loss_1 + loss_2)
