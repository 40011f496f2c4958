# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

from ...utils import revert_sync_bn_if_not_distributed
from ..utils.geometry import (check_grid_size, correspondence_from_samples,
                              sample_at_grid)
from .base_unsup_segmentor import BaseUnsupSegmentor


@MODELS.register_module()
class PiCIE(BaseUnsupSegmentor):
    """PiCIE (Cho et al., CVPR 2021) on this package's modules.

    Features ``f`` (ResNet + :class:`SimplifiedFPN`) are L2-normalised per
    pixel. Before every epoch :class:`KMeansClusteringHook` clusters the
    features of each view (spherical k-means, ``num_clusters`` centroids
    ``mu_v`` per view ``v``; the views differ in photometric augmentation)
    and copies them into :meth:`set_centroids`. For the epoch, pseudo labels
    are the nearest fixed centroid, ``y_v = argmax_k <f_v, mu_v,k>``
    (computed from the current features, no gradient), and the classifiers
    ``c_v`` (1x1 convs, re-initialised with ``mu_v`` at every clustering)
    are trained with

    - invariance, within view: ``L_in = 1/2 [CE(c_1 f_1, y_1) +
      CE(c_2 f_2, y_2)]`` on the whole maps;
    - equivariance, across views at the ``K x K`` original-image points of
      both views (the geometry module maps each view's crop and flip):
      ``L_cross = 1/2 [CE(c_1 f_2', y_1') + CE(c_2 f_1', y_2')]``;

    ``L = within_weight L_in + cross_weight L_cross``. The cross-entropies
    are rebalanced over the pseudo classes of the batch
    (:class:`RebalancedPseudoLabelLoss`; PiCIE weighs by the inverse cluster
    sizes of the epoch). Inference: ``argmax_k c_1(f)_k`` per pixel.

    Args:
        backbone (dict): encoder (``out_indices=(0, 1, 2, 3)``).
        neck (dict): :class:`SimplifiedFPN`.
        num_clusters (int): K of k-means (27 on COCO-Stuff-27).
        feat_channels (int): channels of the FPN map. Defaults to 128.
        loss (dict): the cross-entropy, :class:`RebalancedPseudoLabelLoss`.
        grid_size (int): points per side for the equivariance term.
            Defaults to 16.
        within_weight (float): weight of ``L_in``. Defaults to 0.5.
        cross_weight (float): weight of ``L_cross``. Defaults to 0.5.
        temperature (float): logits are ``c_v(f) / temperature``. Defaults
            to 1 (PiCIE).
        Others: see :class:`BaseUnsupSegmentor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 num_clusters: int,
                 feat_channels: int = 128,
                 loss: dict = dict(type='RebalancedPseudoLabelLoss'),
                 grid_size: int = 16,
                 within_weight: float = 0.5,
                 cross_weight: float = 0.5,
                 temperature: float = 1.0,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, **kwargs)
        if not (isinstance(num_clusters, int) and num_clusters >= 2):
            raise ValueError('PiCIE: `num_clusters` must be an int >= 2, got '
                             f'{num_clusters!r}.')
        if not temperature > 0:
            raise ValueError(f'PiCIE: `temperature` must be > 0, got '
                             f'{temperature!r}.')
        self.num_clusters = num_clusters
        self.grid_size = check_grid_size(grid_size)
        self.loss_module = MODELS.build(loss)
        self.within_weight = within_weight
        self.cross_weight = cross_weight
        self.temperature = temperature
        self.classifiers = nn.ModuleList(
            nn.Conv2d(feat_channels, num_clusters, 1, bias=False)
            for _ in range(2))
        # the fixed centroids of the current epoch, one set per view
        self.register_buffer('centroids',
                             torch.zeros(2, num_clusters, feat_channels))
        revert_sync_bn_if_not_distributed(self)

    def normalized_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, H/4, W/4)`` per-pixel L2-normalised FPN features."""
        return F.normalize(self.extract_feat(inputs), dim=1)

    @torch.no_grad()
    def set_centroids(self, centroids: torch.Tensor) -> None:
        """Set the epoch's centroids and re-initialise the classifiers.

        Args:
            centroids (Tensor): ``(2, K, C)`` or ``(K, C)`` (both views);
                normalised here.
        """
        centroids = torch.as_tensor(centroids, dtype=torch.float32)
        if centroids.dim() == 2:
            centroids = centroids[None].expand(2, -1, -1)
        if tuple(centroids.shape) != tuple(self.centroids.shape):
            raise ValueError(
                'PiCIE.set_centroids: expected shape '
                f'{tuple(self.centroids.shape)}, got '
                f'{tuple(centroids.shape)}.')
        centroids = F.normalize(centroids.to(self.centroids.device), dim=-1)
        self.centroids.copy_(centroids)
        for classifier, mu in zip(self.classifiers, centroids):
            classifier.weight.copy_(mu[:, :, None, None])

    def cluster_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Classifier of view 1 on normalised features: ``(B, K, h, w)``."""
        return self.classify(F.normalize(feats, dim=1), 0)

    def classify(self, feats: torch.Tensor, view: int) -> torch.Tensor:
        """Classifier ``c_view`` on ``(B, C, ...)`` normalised features."""
        return self.classifiers[view](feats) / self.temperature

    def _pseudo_labels(self, feats: torch.Tensor, view: int) -> torch.Tensor:
        """Nearest fixed centroid of ``(B, C, ...)`` normalised features."""
        return torch.einsum('bc...,kc->bk...', feats.detach(),
                            self.centroids[view]).argmax(dim=1)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Invariance and equivariance losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): two ``(B, 3, H, W)`` batches of views.
            data_samples (list[SegDataSample]): ``view_boxes``/``view_flips``.

        Returns:
            dict[str, Tensor]: weighted ``loss_within`` and ``loss_cross``.
        """
        if not (isinstance(inputs, (list, tuple)) and len(inputs) >= 2):
            raise ValueError(
                'PiCIE.loss needs two views per image: build the train '
                'pipeline with MultiViewWithGeometry and '
                'PackMultiViewSegInputs.')
        feats = [self.normalized_feat(inputs[0]),
                 self.normalized_feat(inputs[1])]
        loss_within = 0.5 * sum(
            self.loss_module(self.classify(feats[v], v),
                             self._pseudo_labels(feats[v], v))
            for v in range(2))

        corr = correspondence_from_samples(data_samples, self.grid_size,
                                           inputs[0].device)
        points = [
            F.normalize(sample_at_grid(feats[0], corr.grid1), dim=1),
            F.normalize(sample_at_grid(feats[1], corr.grid2), dim=1)
        ]
        labels = [self._pseudo_labels(points[v], v) for v in range(2)]
        # features of one view, the other view's classifier and labels
        loss_cross = 0.5 * (
            self.loss_module(self.classify(points[1], 0), labels[0],
                             corr.valid) +
            self.loss_module(self.classify(points[0], 1), labels[1],
                             corr.valid))
        return dict(
            loss_within=self.within_weight * loss_within,
            loss_cross=self.cross_weight * loss_cross)
