# Copyright (c) densesiam_mm contributors. All rights reserved.
import math
from typing import Dict, List, Optional

import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..utils import (align_views, check_grid_size, check_loss_weight,
                     revert_sync_bn_if_not_distributed)
from .base_unsup_segmentor import BaseUnsupSegmentor


@MODELS.register_module()
class DenseSiamSeg(BaseUnsupSegmentor):
    """DenseSiam for unsupervised semantic segmentation (paper Sec. 4).

    Encoder ``f`` (ResNet-18) + simplified FPN, a projector ``g`` with ``N``
    output channels (one per class) and a predictor ``h``; ``z = g(f)``,
    ``p = h(z)``. The views are aligned by :func:`~.align_views`, one loss
    body for its two modes (``correspondence``):

    - ``'dense'`` (the authors' code, paper configs): view 1 is a crop of
      view 2 (``NestedCropViews``); view 2's FPN map is sampled at every
      feature cell of view 1, so both views' maps ``f1, f2`` are aligned
      cell by cell, and ``g``, ``h`` run on the aligned maps. Every loss
      counts every aligned cell inside view 2.
    - ``'grid'`` (this project's earlier variant): ``g``, ``h`` run on each
      view's own map and are compared at the ``K x K`` original-image points
      shared by both views; same-view terms use every pixel of each map.

    Losses (``'`` = at the corresponding points):

    - ``loss_dense`` = ``lambda_1 * 1/2 [D(p1', sg z2') + D(p2', sg z1')]``
      with ``D`` the softmax cross-entropy (PixSim, ``pix_sim_head``);
    - ``loss_pseudo`` (L_seg, optional), ``pseudo_label``:

      - ``'same_view'`` (authors): ``w * 1/2 [CE_rb(z1, argmax sg z1) +
        CE_rb(z2, argmax sg z2)]`` on the projector logits (the inference
        head) at every pixel / aligned cell, with the authors'
        frequency-proportional weights (``RebalancedPseudoLabelLoss(
        rebalance='proportional')``) and ``w = 1``;
      - ``'cross_view'``: ``w * 1/2 [CE_rb(p1', argmax sg z2') +
        CE_rb(p2', argmax sg z1')]`` on the predictor outputs, ``w =
        lambda_1`` by default;

    - ``loss_aux`` = ``lambda_4 * PixSim`` of an auxiliary projector /
      predictor with ``N_aux`` (128) channels (over-clustering; trained only
      by this term, not used at inference);
    - ``loss_region`` = ``lambda_2 * RegionSim``, the ``N`` projector
      channels being the soft region masks over the FPN features (the
      authors' "kernel contrast": ``RegionSimHead(stop_grad=False)``,
      ``RegionInfoNCELoss(temperature=0.1)``, on for the last 20 % of
      training through ``RegionSimHook(start_ratio=0.8)``).

    ``lambda_1 = log N_aux / (log N + log N_aux)`` and
    ``lambda_4 = log N / (log N + log N_aux)`` by default (paper), so both
    cross-entropies, of magnitude ``log N`` and ``log N_aux``, weigh alike.
    Inference: ``argmax_c g(f(x))_c`` per pixel.

    Args:
        backbone (dict): encoder (``out_indices=(0, 1, 2, 3)``).
        neck (dict): :class:`SimplifiedFPN`.
        projector (dict): g, ``DenseNonLinearNeck`` with ``N`` outputs
            (built in mmpretrain's scope: ``_scope_='mmpretrain'``).
        pix_sim_head (dict): ``PixSimHead`` (predictor h and
            ``DenseSimilarityLoss(mode='cross_entropy')``).
        pseudo_label_loss (dict, optional): :class:`RebalancedPseudoLabelLoss`;
            None: no L_seg.
        aux_projector (dict, optional): auxiliary projector (``N_aux``).
        aux_pix_sim_head (dict, optional): its ``PixSimHead``.
        region_sim_head (dict, optional): ``RegionSimHead``.
        correspondence (str): ``'grid'`` or ``'dense'``. Defaults to
            ``'grid'``.
        pseudo_label (str): ``'cross_view'`` or ``'same_view'``. Defaults to
            ``'cross_view'``.
        grid_size (int): K of the ``'grid'`` mode. Defaults to 16.
        dense_loss_weight (float, optional): lambda_1; None = paper formula
            (1 without the auxiliary branch).
        aux_loss_weight (float, optional): lambda_4; None = paper formula.
        pseudo_loss_weight (float, optional): weight of L_seg; None =
            lambda_1 (the earlier variant). The authors use 1.0.
        region_loss_weight (float): lambda_2. Defaults to 0.1.
        region_sim_enabled (bool): RegionSim on (``RegionSimHook`` may
            switch it). Defaults to True.
        Others: see :class:`BaseUnsupSegmentor`.
    """
    correspondences = ('grid', 'dense')
    pseudo_labels = ('cross_view', 'same_view')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 projector: dict,
                 pix_sim_head: dict,
                 pseudo_label_loss: Optional[dict] = dict(
                     type='RebalancedPseudoLabelLoss'),
                 aux_projector: Optional[dict] = None,
                 aux_pix_sim_head: Optional[dict] = None,
                 region_sim_head: Optional[dict] = None,
                 correspondence: str = 'grid',
                 pseudo_label: str = 'cross_view',
                 grid_size: int = 16,
                 dense_loss_weight: Optional[float] = None,
                 aux_loss_weight: Optional[float] = None,
                 pseudo_loss_weight: Optional[float] = None,
                 region_loss_weight: float = 0.1,
                 region_sim_enabled: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, **kwargs)
        if (aux_projector is None) != (aux_pix_sim_head is None):
            raise ValueError('DenseSiamSeg: give both `aux_projector` and '
                             '`aux_pix_sim_head`, or neither.')
        if correspondence not in self.correspondences:
            raise ValueError(
                f'DenseSiamSeg: unknown `correspondence` {correspondence!r};'
                f' choose one of {self.correspondences}.')
        if pseudo_label not in self.pseudo_labels:
            raise ValueError(
                f'DenseSiamSeg: unknown `pseudo_label` {pseudo_label!r}; '
                f'choose one of {self.pseudo_labels}.')
        self.correspondence = correspondence
        self.pseudo_label = pseudo_label
        self.grid_size = check_grid_size(grid_size)
        self.projector = MODELS.build(projector)
        self.pix_sim_head = MODELS.build(pix_sim_head)
        self.pseudo_label_loss = MODELS.build(pseudo_label_loss) \
            if pseudo_label_loss is not None else None
        self.aux_projector = MODELS.build(aux_projector) \
            if aux_projector is not None else None
        self.aux_pix_sim_head = MODELS.build(aux_pix_sim_head) \
            if aux_pix_sim_head is not None else None
        self.num_classes = projector['out_channels']
        if self.num_classes < 2:
            raise ValueError(
                'DenseSiamSeg: `projector.out_channels` (N, the classes and '
                'RegionSim\'s region masks) must be >= 2, got '
                f'{self.num_classes}.')
        self.region_sim_head = MODELS.build(region_sim_head) \
            if region_sim_head is not None else None
        if self.aux_projector is not None:
            num_aux = aux_projector['out_channels']
            log_n, log_aux = math.log(self.num_classes), math.log(num_aux)
            default_dense = log_aux / (log_n + log_aux)
            default_aux = log_n / (log_n + log_aux)
        else:
            default_dense, default_aux = 1.0, 0.0
        self.dense_loss_weight = default_dense \
            if dense_loss_weight is None else dense_loss_weight
        self.aux_loss_weight = default_aux \
            if aux_loss_weight is None else aux_loss_weight
        self.pseudo_loss_weight = self.dense_loss_weight \
            if pseudo_loss_weight is None else pseudo_loss_weight
        self.region_loss_weight = region_loss_weight
        for name in ('dense_loss_weight', 'aux_loss_weight',
                     'pseudo_loss_weight', 'region_loss_weight'):
            check_loss_weight('DenseSiamSeg', name, getattr(self, name))
        self.region_sim_enabled = region_sim_enabled
        revert_sync_bn_if_not_distributed(self)

    def cluster_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Projector g: ``(B, C, h, w)`` to ``(B, N, h, w)``."""
        return self.projector(feats)[0]

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): two ``(B, 3, H, W)`` batches of views.
            data_samples (list[SegDataSample]): ``view_boxes``/``view_flips``.

        Returns:
            dict[str, Tensor]: weighted ``loss_dense`` and, when configured,
            ``loss_pseudo``, ``loss_aux`` and ``loss_region``.
        """
        if not (isinstance(inputs, (list, tuple)) and len(inputs) >= 2):
            raise ValueError(
                'DenseSiamSeg.loss needs two views per image: build the '
                'train pipeline with MultiViewWithGeometry (or '
                'NestedCropViews) and PackMultiViewSegInputs.')
        views = align_views(
            self.extract_feat(inputs[0]),
            self.extract_feat(inputs[1]),
            data_samples,
            mode=self.correspondence,
            grid_size=self.grid_size)
        feats1, feats2 = views.maps
        proj1, proj2 = self.cluster_logits(feats1), self.cluster_logits(feats2)
        # z', p' at the compared points (z' without graph)
        z1, p1 = self.pix_sim_head.predict_at_points(proj1, views.grid1)
        z2, p2 = self.pix_sim_head.predict_at_points(proj2, views.grid2)
        loss_dense = self.pix_sim_head.loss_at_points(z1, p1, z2, p2,
                                                      views.point_mask)
        losses = dict(loss_dense=self.dense_loss_weight * loss_dense)
        if self.pseudo_label_loss is not None:
            if self.pseudo_label == 'same_view':
                # each view's own projector map (every cell it counts)
                pairs, valid = ((proj1, proj1), (proj2, proj2)), \
                    views.map_valid
            else:
                pairs, valid = ((p1, z2), (p2, z1)), views.point_mask
            loss_pseudo = 0.5 * sum(
                self.pseudo_label_loss(logits,
                                       target.detach().argmax(1), valid)
                for logits, target in pairs)
            losses['loss_pseudo'] = self.pseudo_loss_weight * loss_pseudo
        if self.aux_projector is not None:
            loss_aux = self.aux_pix_sim_head.loss(
                self.aux_projector(feats1)[0],
                self.aux_projector(feats2)[0], views)
            losses['loss_aux'] = self.aux_loss_weight * loss_aux
        if self.region_sim_head is not None:
            if self.region_sim_enabled:
                loss_region = self.region_sim_head.loss(
                    proj1, feats1, proj2, feats2, views)
            else:
                loss_region = self.region_sim_head.inactive_loss()
            losses['loss_region'] = self.region_loss_weight * loss_region
        return losses
