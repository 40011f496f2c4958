# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..necks.region_projector import RegionProjector
from ..utils.autocast import autocast_off
from ..utils.geometry import sample_at_grid


def region_masks(mask_logits: torch.Tensor,
                 point_weight: Optional[torch.Tensor] = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Soft region masks ``softmax_n(mask_logits)`` at the points.

    Args:
        mask_logits (Tensor): ``(B, N, K, K)`` region logits.
        point_weight (Tensor, optional): ``(B, K, K)`` per-point weight
            (e.g. the dense correspondence's validity): points weighted 0
            take no part in any region.
        dtype (torch.dtype): computation dtype. Defaults to float32.

    Returns:
        Tensor: ``(B, N, K*K)`` masks.
    """
    masks = mask_logits.to(dtype).flatten(2).softmax(dim=1)
    if point_weight is not None:
        masks = masks * point_weight.to(dtype).flatten(1)[:, None]
    return masks


def region_embeddings(
        mask_logits: torch.Tensor,
        feats: torch.Tensor,
        point_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Region embeddings from soft masks and features at the same points.

    ``r_n = sum_k softmax_n(mask_logits)[n, k] * feats[:, k]`` (a sum over
    the points, as the authors' kernel contrast; ``point_weight`` masks
    points out).

    Args:
        mask_logits (Tensor): ``(B, N, K, K)`` projector outputs at the grid;
            each of the N channels is one region.
        feats (Tensor): ``(B, C, K, K)`` encoder features at the grid.
        point_weight (Tensor, optional): ``(B, K, K)`` per-point weight.

    Returns:
        Tensor: ``(B, N, C)`` region embeddings (computed in float32).
    """
    masks = region_masks(mask_logits, point_weight)
    with autocast_off(feats.device.type):  # the sum in float32
        return torch.einsum('bnk,bck->bnc', masks, feats.float().flatten(2))


def _has_linear_first_layer(projector) -> bool:
    """Whether ``projector`` is a :class:`RegionProjector`, i.e. it starts
    with the linear map ``fc0`` (no activation before it) and runs the rest
    with ``forward_hidden``, which lets :class:`RegionSimHead` apply ``fc0``
    before the mask sum.
    """
    return isinstance(projector, RegionProjector)


def _build_projector(projector: dict):
    """g' from its config: mmpretrain's ``NonLinearNeck`` without pooling
    (the configs' form) is built as the equivalent :class:`RegionProjector`
    (same arguments, layers, parameter names, initialisation and outputs);
    any other config through the registry."""
    cfg = dict(projector)
    if cfg.get('type') in ('NonLinearNeck', 'mmpretrain.NonLinearNeck') \
            and not cfg.get('with_avg_pool', True) \
            and not cfg.get('vit_backbone', False):
        for key in ('type', '_scope_', 'with_avg_pool', 'vit_backbone'):
            cfg.pop(key, None)
        return RegionProjector(**cfg)
    return MODELS.build(cfg)


def _factorising_is_cheaper(mask_logits: torch.Tensor, feats: torch.Tensor,
                            fc0: torch.nn.Linear) -> bool:
    """Multiply-adds of ``sum_k m_nk (W f_k)`` vs ``W (sum_k m_nk f_k)``.

    With N regions, P = K*K points, C inputs and H hidden channels:
    ``P*C*H + N*P*H`` against ``N*P*C + N*C*H``; e.g. pre-training (N = 512,
    P = 49) saves ~90 %, while few regions on a dense grid (N = 27,
    P = 256) are cheaper the direct way.
    """
    regions, points = mask_logits.size(1), mask_logits[0, 0].numel()
    channels, hidden = fc0.in_features, fc0.out_features
    factorised = points * channels * hidden + regions * points * hidden
    direct = regions * points * channels + regions * channels * hidden
    return factorised < direct


@MODELS.register_module()
class RegionSimHead(BaseModule):
    """RegionSim: InfoNCE between matching region embeddings of two views.

    Region embeddings (:func:`region_embeddings`) of each view go through a
    projector g' and predictor h' (MLPs); the loss is
    ``1/2 [L(h'(g'(r1)), sg(g'(r2))) + L(h'(g'(r2)), sg(g'(r1)))]`` with
    ``L`` an InfoNCE over the regions of each image. With
    ``stop_grad=False`` (the authors' DenseSiam-Seg "kernel contrast") the
    targets keep their graph, ``sg`` is the identity and gradients reach
    both views through both terms.

    Cost: with N regions, ``K x K`` points and C encoder channels, the first
    layer of g' is linear (``fc0`` of :class:`RegionProjector`, before its
    BN), so
    ``W r_n = sum_k m_nk (W f_k)``: ``W`` is applied to the ``K*K`` sampled
    features and the soft-mask sum is taken afterwards, on the (smaller)
    hidden channels. This is the same function (up to float rounding) at
    about ``K*K / N`` of the first layer's cost, used when it is cheaper
    (``K*K`` small against N, as in pre-training). A projector configured
    as mmpretrain's ``NonLinearNeck(with_avg_pool=False)`` is built as the
    equivalent :class:`RegionProjector` (same parameters, state-dict keys
    and outputs); other projector types are applied to the region
    embeddings directly.

    Memory: the region activations are ``(B * N, D)`` per layer and view
    (N = 512 regions in pre-training: as many rows as a 22x22 feature map
    per image). With ``with_cp=True`` each view's embedding and each
    direction of the loss run under activation checkpointing: only their
    inputs and the ``(B, N, D)`` outputs are kept, the rest is recomputed
    during backward. Loss and gradients are unchanged; the BN running
    statistics of g' and h' are updated twice per step (they are never used:
    RegionSim only exists in training).

    Args:
        projector (dict): g', e.g. ``NonLinearNeck(with_avg_pool=False)``.
        predictor (dict): h', e.g. ``NonLinearNeck(with_avg_pool=False)``.
        loss (dict): e.g. ``RegionInfoNCELoss(temperature=0.2)``.
        with_cp (bool): activation checkpointing, see above. Defaults to
            False.
        stop_grad (bool): detach the targets ``g'(r)`` (SimSiam style,
            pre-training). False: the authors' kernel contrast of
            DenseSiam-Seg. Defaults to True.
    """

    def __init__(self,
                 projector: dict,
                 predictor: dict,
                 loss: dict,
                 with_cp: bool = False,
                 stop_grad: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.projector = _build_projector(projector)
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)
        self.with_cp = with_cp
        self.stop_grad = stop_grad

    def project_regions(
            self,
            mask_logits: torch.Tensor,
            feats: torch.Tensor,
            point_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """g'(r) of the region embeddings of sampled masks and features.

        Args:
            mask_logits (Tensor): ``(B, N, K, K)`` region logits at the grid.
            feats (Tensor): ``(B, C, K, K)`` encoder features at the grid.
            point_weight (Tensor, optional): ``(B, K, K)`` point weights
                (dense mode: 0 for points outside the other view).

        Returns:
            Tensor: ``(B * N, D)`` projected region embeddings, image-major.
        """
        if not (_has_linear_first_layer(self.projector)
                and _factorising_is_cheaper(mask_logits, feats,
                                            self.projector.fc0)):
            regions = region_embeddings(mask_logits, feats, point_weight)
            regions = regions.to(feats.dtype).flatten(0, 1)
            return self.projector([regions])[0]
        fc0 = self.projector.fc0
        # W f_k on the K*K points: (B, KK, hid) instead of (B, N, C) @ W.
        point_proj = F.linear(feats.flatten(2).transpose(1, 2), fc0.weight)
        # masks and their sum in at least float32 (AMP-safe)
        dtype = torch.promote_types(point_proj.dtype, torch.float32)
        masks = region_masks(mask_logits, point_weight, dtype)  # (B, N, KK)
        with autocast_off(feats.device.type):  # the sum in float32
            hidden = torch.einsum('bnk,bkd->bnd', masks, point_proj.to(dtype))
        hidden = hidden.to(point_proj.dtype).flatten(0, 1)
        if fc0.bias is not None:
            hidden = hidden + fc0.bias
        return self.projector.forward_hidden(hidden)

    def embed(self,
              mask_map: torch.Tensor,
              feat_map: torch.Tensor,
              grid: Optional[torch.Tensor],
              point_weight: Optional[torch.Tensor] = None):
        """Projected and predicted region embeddings of one view.

        Args:
            mask_map (Tensor): ``(B, N, H, W)`` region logits (projector map).
            feat_map (Tensor): ``(B, C, H', W')`` encoder features.
            grid (Tensor, optional): ``(B, K, K, 2)`` sampling grid of the
                view; None: both maps are already at the points (aligned).
            point_weight (Tensor, optional): ``(B, K, K)`` point weights.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, D)`` g'(r) and h'(g'(r)).
        """
        if grid is not None:
            mask_map = sample_at_grid(mask_map, grid)
            feat_map = sample_at_grid(feat_map, grid)
        return self.embed_points(mask_map, feat_map, point_weight)

    def embed_points(self,
                     mask_logits: torch.Tensor,
                     feats: torch.Tensor,
                     point_weight: Optional[torch.Tensor] = None):
        """Projected and predicted region embeddings of sampled maps.

        Args:
            mask_logits (Tensor): ``(B, N, h, w)`` region logits at the
                points (e.g. a dense map aligned with the other view).
            feats (Tensor): ``(B, C, h, w)`` encoder features at the points.
            point_weight (Tensor, optional): ``(B, h, w)`` point weights.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, D)`` g'(r) and h'(g'(r)).
        """
        num_images, num_regions = mask_logits.shape[:2]
        proj = self.project_regions(mask_logits, feats, point_weight)
        pred = self.predictor([proj])[0]
        return (proj.view(num_images, num_regions,
                          -1), pred.view(num_images, num_regions, -1))

    def inactive_loss(self) -> torch.Tensor:
        """Exact zero connected to every parameter of the head.

        Used while RegionSim is switched off, so DDP sees all parameters
        used and needs no ``find_unused_parameters``.
        """
        return sum(p.sum() for p in self.parameters()) * 0.

    def loss(self, mask_map1: torch.Tensor, feat_map1: torch.Tensor,
             mask_map2: torch.Tensor, feat_map2: torch.Tensor,
             corr) -> torch.Tensor:
        """Symmetric RegionSim loss; pairs without overlap do not count.

        Args:
            mask_map1 (Tensor): ``(B, N, H, W)`` region logits, view 1.
            feat_map1 (Tensor): ``(B, C, H', W')`` features, view 1.
            mask_map2 (Tensor): region logits, view 2.
            feat_map2 (Tensor): features, view 2.
            corr (Correspondence | AlignedViews): ``grid1``/``grid2`` where
                the maps are sampled (None: maps already aligned cell by
                cell), ``valid`` ``(B,)`` pairs to count and ``point_valid``
                (optional ``(B, h, w)``, the cells the regions sum over).

        Returns:
            Tensor: scalar loss.
        """
        z1, p1 = self._run(self.embed, mask_map1, feat_map1, corr.grid1,
                           corr.point_valid)
        z2, p2 = self._run(self.embed, mask_map2, feat_map2, corr.grid2,
                           corr.point_valid)
        return self._symmetric_loss(z1, p1, z2, p2, corr.valid)

    def _symmetric_loss(self, z1, p1, z2, p2, valid) -> torch.Tensor:
        if self.stop_grad:
            z1, z2 = z1.detach(), z2.detach()
        loss_1 = self._run(self.loss_module, p1, z2, valid)
        loss_2 = self._run(self.loss_module, p2, z1, valid)
        return 0.5 * (loss_1 + loss_2)

    def _run(self, function, *args):
        """``function(*args)``, checkpointed when ``with_cp`` and training
        with gradients."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(function, *args, use_reentrant=False)
        return function(*args)
