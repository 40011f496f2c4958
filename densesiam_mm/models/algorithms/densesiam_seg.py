# Copyright (c) densesiam_mm contributors. All rights reserved.
import math
from typing import Dict, List, Optional

import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ...utils import revert_sync_bn_if_not_distributed
from ..utils import (check_grid_size, check_loss_weight,
                     correspondence_from_samples)
from .base_unsup_segmentor import BaseUnsupSegmentor


@MODELS.register_module()
class DenseSiamSeg(BaseUnsupSegmentor):
    """DenseSiam for unsupervised semantic segmentation (paper Sec. 4).

    Encoder ``f`` (ResNet-18) + simplified FPN, a projector ``g`` with ``N``
    output channels (one per class) and a predictor ``h``. With ``z = g(f)``,
    ``p = h(z)`` and ``'`` meaning "at the ``K x K`` original-image points
    shared by both views" (:func:`correspondence_from_samples`):

    - ``loss_dense`` = ``lambda_1 * 1/2 [D(p1', sg z2') + D(p2', sg z1')]``
      with ``D`` the softmax cross-entropy (PixSim, ``pix_sim_head``);
    - ``loss_pseudo`` = ``lambda_1 * 1/2 [CE_rb(p1', argmax z2') +
      CE_rb(p2', argmax z1')]``: cross-entropy to the other view's
      arg-max cluster, rebalanced so that each pseudo class present in the
      batch weighs the same (:class:`RebalancedPseudoLabelLoss`);
    - ``loss_aux`` = ``lambda_4 * PixSim`` of an auxiliary projector /
      predictor with ``N_aux`` (128) channels (over-clustering; trained only
      by this term, not used at inference);
    - ``loss_region`` = ``lambda_2 * RegionSim``, the ``N`` projector
      channels being the soft region masks over the FPN features.

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
        pseudo_label_loss (dict): :class:`RebalancedPseudoLabelLoss`.
        aux_projector (dict, optional): auxiliary projector (``N_aux``).
        aux_pix_sim_head (dict, optional): its ``PixSimHead``.
        region_sim_head (dict, optional): ``RegionSimHead``.
        grid_size (int): K. Defaults to 16.
        dense_loss_weight (float, optional): lambda_1; None = paper formula
            (1 without the auxiliary branch).
        aux_loss_weight (float, optional): lambda_4; None = paper formula.
        region_loss_weight (float): lambda_2. Defaults to 0.1.
        region_sim_enabled (bool): RegionSim on (``RegionSimHook`` may
            switch it). Defaults to True.
        Others: see :class:`BaseUnsupSegmentor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 projector: dict,
                 pix_sim_head: dict,
                 pseudo_label_loss: dict = dict(
                     type='RebalancedPseudoLabelLoss'),
                 aux_projector: Optional[dict] = None,
                 aux_pix_sim_head: Optional[dict] = None,
                 region_sim_head: Optional[dict] = None,
                 grid_size: int = 16,
                 dense_loss_weight: Optional[float] = None,
                 aux_loss_weight: Optional[float] = None,
                 region_loss_weight: float = 0.1,
                 region_sim_enabled: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, **kwargs)
        if (aux_projector is None) != (aux_pix_sim_head is None):
            raise ValueError('DenseSiamSeg: give both `aux_projector` and '
                             '`aux_pix_sim_head`, or neither.')
        self.grid_size = check_grid_size(grid_size)
        self.projector = MODELS.build(projector)
        self.pix_sim_head = MODELS.build(pix_sim_head)
        self.pseudo_label_loss = MODELS.build(pseudo_label_loss)
        self.aux_projector = MODELS.build(aux_projector) \
            if aux_projector is not None else None
        self.aux_pix_sim_head = MODELS.build(aux_pix_sim_head) \
            if aux_pix_sim_head is not None else None
        self.region_sim_head = MODELS.build(region_sim_head) \
            if region_sim_head is not None else None
        self.num_classes = projector['out_channels']
        if self.num_classes < 2:
            raise ValueError('DenseSiamSeg: the projector needs >= 2 output '
                             f'channels (classes), got {self.num_classes}.')
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
        self.region_loss_weight = region_loss_weight
        for name in ('dense_loss_weight', 'aux_loss_weight',
                     'region_loss_weight'):
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
            dict[str, Tensor]: weighted ``loss_dense``, ``loss_pseudo`` and,
            when configured, ``loss_aux`` and ``loss_region``.
        """
        if not (isinstance(inputs, (list, tuple)) and len(inputs) >= 2):
            raise ValueError(
                'DenseSiamSeg.loss needs two views per image: build the '
                'train pipeline with MultiViewWithGeometry and '
                'PackMultiViewSegInputs.')
        feats1 = self.extract_feat(inputs[0])
        feats2 = self.extract_feat(inputs[1])
        corr = correspondence_from_samples(data_samples, self.grid_size,
                                           inputs[0].device)

        proj1 = self.cluster_logits(feats1)
        proj2 = self.cluster_logits(feats2)
        z1, p1 = self.pix_sim_head.predict_at_points(proj1, corr.grid1)
        z2, p2 = self.pix_sim_head.predict_at_points(proj2, corr.grid2)
        similarity = self.pix_sim_head.loss_module
        loss_dense = 0.5 * (similarity(p1, z2.detach(), corr.valid) +
                            similarity(p2, z1.detach(), corr.valid))
        loss_pseudo = 0.5 * (
            self.pseudo_label_loss(p1, z2.detach().argmax(1), corr.valid) +
            self.pseudo_label_loss(p2, z1.detach().argmax(1), corr.valid))
        losses = dict(
            loss_dense=self.dense_loss_weight * loss_dense,
            loss_pseudo=self.dense_loss_weight * loss_pseudo)

        if self.aux_projector is not None:
            loss_aux = self.aux_pix_sim_head.loss(
                self.aux_projector(feats1)[0],
                self.aux_projector(feats2)[0], corr)
            losses['loss_aux'] = self.aux_loss_weight * loss_aux
        if self.region_sim_head is not None:
            if self.region_sim_enabled:
                loss_region = self.region_sim_head.loss(
                    proj1, feats1, proj2, feats2, corr)
            else:
                loss_region = self.region_sim_head.inactive_loss()
            losses['loss_region'] = self.region_loss_weight * loss_region
        return losses
