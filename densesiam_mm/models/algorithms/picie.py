# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

from ..utils.autocast import autocast_off
from ..utils.geometry import check_grid_size
from ..utils.sync_bn import revert_sync_bn_if_not_distributed
from ..utils.view_alignment import AlignedViews, align_views
from .base_unsup_segmentor import BaseUnsupSegmentor


@MODELS.register_module()
class PiCIE(BaseUnsupSegmentor):
    """PiCIE (Cho et al., CVPR 2021) on this package's modules.

    Features ``f`` (ResNet + :class:`SimplifiedFPN`) are L2-normalised per
    pixel. Before every epoch :class:`KMeansClusteringHook` clusters the
    features of each view (k-means, ``num_clusters`` centroids ``mu_v`` per
    view ``v``; the views differ in photometric augmentation) and calls
    :meth:`set_centroids`; the classifiers ``c_v`` (1x1 convs) are set to
    ``mu_v``. Then, for the epoch,

    - invariance, within view: ``L_in = 1/2 [CE(c_1 f_1, y_1) +
      CE(c_2 f_2, y_2)]``;
    - equivariance, across views: ``L_cross = 1/2 [CE(c_2 f_1, y_2) +
      CE(c_1 f_2, y_1)]`` at corresponding points;

    ``L = within_weight L_in + cross_weight L_cross``. Inference:
    ``argmax_k c_1(f)_k`` per pixel.

    Two recipes, chosen by four switches:

    - the authors' (``correspondence='dense'``, ``label_source='stored'``,
      ``freeze_classifiers=True``, ``class_weight='epoch'``): views are
      nested crops, view 2's map is sampled at every cell of view 1; the
      labels ``y_v`` are assigned once per epoch by the hook (nearest
      centroid, same model state as the clustering, views replayed per
      image) and looked up by ``sample_idx``; the classifiers stay the
      centroids (no gradient); the cross-entropies weigh class ``k`` of
      view ``v`` by the epoch's cluster size ``n_vk / n_v`` (proportional,
      torch's ``CrossEntropyLoss(weight=...)``, set by
      :meth:`set_class_weights`);
    - this project's earlier variant (``'grid'``, ``'online'``, ``False``,
      ``'batch'``): labels are the nearest fixed centroid of the current
      (train-mode) features, the classifiers are trained from the
      centroids, the cross term is compared at ``K x K`` shared points, and
      the weights come from ``loss`` (inverse batch frequencies by default).

    Args:
        backbone (dict): encoder (``out_indices=(0, 1, 2, 3)``).
        neck (dict): :class:`SimplifiedFPN`.
        num_clusters (int): K of k-means (27 on COCO-Stuff-27).
        feat_channels (int): channels of the FPN map. Defaults to 128.
        loss (dict): the cross-entropy, :class:`RebalancedPseudoLabelLoss`.
        correspondence (str): ``'grid'`` or ``'dense'``. Defaults to 'grid'.
        label_source (str): ``'online'`` or ``'stored'``. Defaults to
            'online'.
        freeze_classifiers (bool): Defaults to False.
        class_weight (str): ``'batch'`` (``loss`` decides) or ``'epoch'``.
            Defaults to 'batch'.
        grid_size (int): points per side of the ``'grid'`` cross term.
            Defaults to 16.
        within_weight (float): weight of ``L_in``. Defaults to 0.5.
        cross_weight (float): weight of ``L_cross``. Defaults to 0.5.
        temperature (float): logits are ``c_v(f) / temperature``. Defaults
            to 1 (PiCIE).
        centroid_norm (str): ``'raw'`` (the authors': Euclidean k-means
            centroids used as they are, labels by Euclidean distance
            ``argmin_k |f - mu_k|``) or ``'unit'`` (spherical k-means,
            unit-norm centroids, labels by cosine). Defaults to 'raw'.
        Others: see :class:`BaseUnsupSegmentor`.
    """
    correspondences = ('grid', 'dense')
    label_sources = ('online', 'stored')
    class_weights = ('batch', 'epoch')
    centroid_norms = ('raw', 'unit')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 num_clusters: int,
                 feat_channels: int = 128,
                 loss: dict = dict(type='RebalancedPseudoLabelLoss'),
                 correspondence: str = 'grid',
                 label_source: str = 'online',
                 freeze_classifiers: bool = False,
                 class_weight: str = 'batch',
                 grid_size: int = 16,
                 within_weight: float = 0.5,
                 cross_weight: float = 0.5,
                 temperature: float = 1.0,
                 centroid_norm: str = 'raw',
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, **kwargs)
        if not (isinstance(num_clusters, int) and num_clusters >= 2):
            raise ValueError('PiCIE: `num_clusters` must be an int >= 2, got '
                             f'{num_clusters!r}.')
        if not temperature > 0:
            raise ValueError(f'PiCIE: `temperature` must be > 0, got '
                             f'{temperature!r}.')
        for name, value, choices in (('correspondence', correspondence,
                                      self.correspondences),
                                     ('label_source', label_source,
                                      self.label_sources),
                                     ('class_weight', class_weight,
                                      self.class_weights),
                                     ('centroid_norm', centroid_norm,
                                      self.centroid_norms)):
            if value not in choices:
                raise ValueError(f'PiCIE: unknown `{name}` {value!r}; choose '
                                 f'one of {choices}.')
        if label_source == 'stored' and correspondence != 'dense':
            raise ValueError(
                "PiCIE: label_source='stored' needs correspondence='dense' "
                "(the stored labels live on view 1's feature grid).")
        self.num_clusters = num_clusters
        self.correspondence = correspondence
        self.label_source = label_source
        self.freeze_classifiers = freeze_classifiers
        self.class_weight = class_weight
        self.grid_size = check_grid_size(grid_size)
        self.loss_module = MODELS.build(loss)
        self.within_weight = within_weight
        self.cross_weight = cross_weight
        self.temperature = temperature
        self.centroid_norm = centroid_norm
        self.classifiers = nn.ModuleList(
            nn.Conv2d(feat_channels, num_clusters, 1, bias=False)
            for _ in range(2))
        self.classifiers.requires_grad_(not freeze_classifiers)
        # the fixed centroids of the current epoch, one set per view
        self.register_buffer('centroids',
                             torch.zeros(2, num_clusters, feat_channels))
        # the epoch's class weights per view (class_weight='epoch')
        self.register_buffer('epoch_class_weights',
                             torch.full((2, num_clusters), 1. / num_clusters))
        # sample_idx -> (2, h, w) uint8 labels of the epoch (label_source=
        # 'stored'); rebuilt by the hook every epoch, not saved
        self.stored_labels: Dict[int, torch.Tensor] = {}
        revert_sync_bn_if_not_distributed(self)

    def normalized_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, H/4, W/4)`` per-pixel L2-normalised FPN features."""
        return F.normalize(self.extract_feat(inputs), dim=1)

    def align_features(self, inputs: Sequence[torch.Tensor],
                       data_samples: Sequence[SegDataSample]) -> AlignedViews:
        """Normalised features of both views, aligned as the losses compare
        them (:func:`~.align_views`, sampled maps renormalised).

        ``'dense'``: view 2's map is sampled at view 1's cells (both
        ``(B, C, h, w)`` on view 1's grid, ``point_valid`` ``(B, h, w)``);
        ``'grid'``: each view's own map, with the ``K x K`` grids of the
        cross term.
        """
        return align_views(
            self.normalized_feat(inputs[0]),
            self.normalized_feat(inputs[1]),
            data_samples,
            mode=self.correspondence,
            grid_size=self.grid_size,
            normalize=True)

    def view_features(self, inputs: Sequence[torch.Tensor],
                      data_samples: Sequence[SegDataSample]):
        """Normalised features of both views, as the within-view terms
        (and the clustering) use them.

        ``'dense'``: view 2's map is sampled at view 1's cells (both
        ``(B, C, h, w)`` on view 1's grid, with the ``(B, h, w)`` validity);
        ``'grid'``: each view's own map, validity None.

        Returns:
            tuple[list[Tensor], Tensor | None]: ``[f1, f2]`` and validity.
        """
        if self.correspondence == 'grid':  # no geometry needed
            return [
                self.normalized_feat(inputs[0]),
                self.normalized_feat(inputs[1])
            ], None
        views = self.align_features(inputs, data_samples)
        return list(views.maps), views.map_valid

    @torch.no_grad()
    def set_centroids(self, centroids: torch.Tensor) -> None:
        """Set the epoch's centroids and re-initialise the classifiers.

        Args:
            centroids (Tensor): ``(2, K, C)`` or ``(K, C)`` (both views);
                normalised here with ``centroid_norm='unit'``.
        """
        centroids = torch.as_tensor(centroids, dtype=torch.float32)
        if centroids.dim() == 2:
            centroids = centroids[None].expand(2, -1, -1)
        if tuple(centroids.shape) != tuple(self.centroids.shape):
            raise ValueError('PiCIE.set_centroids: expected shape '
                             f'{tuple(self.centroids.shape)}, got '
                             f'{tuple(centroids.shape)}.')
        if not torch.isfinite(centroids).all():
            raise ValueError('PiCIE.set_centroids: the centroids contain '
                             'NaN or inf.')
        centroids = centroids.to(self.centroids.device)
        if self.centroid_norm == 'unit':
            centroids = F.normalize(centroids, dim=-1)
        self.centroids.copy_(centroids)
        for classifier, mu in zip(self.classifiers, centroids):
            classifier.weight.copy_(mu[:, :, None, None])

    @torch.no_grad()
    def set_class_weights(self, weights: torch.Tensor) -> None:
        """``(2, K)`` class weights of the epoch (``class_weight='epoch'``)."""
        weights = torch.as_tensor(weights, dtype=torch.float32)
        if tuple(weights.shape) != tuple(self.epoch_class_weights.shape):
            raise ValueError('PiCIE.set_class_weights: expected shape '
                             f'{tuple(self.epoch_class_weights.shape)}, got '
                             f'{tuple(weights.shape)}.')
        self.epoch_class_weights.copy_(weights)

    def set_pseudo_labels(self, labels: Dict[int, torch.Tensor]) -> None:
        """The epoch's labels: ``sample_idx -> (2, h, w)`` cluster ids."""
        self.stored_labels = labels

    def cluster_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Classifier of view 1 on normalised features: ``(B, K, h, w)``."""
        return self.classify(F.normalize(feats, dim=1), 0)

    def classify(self, feats: torch.Tensor, view: int) -> torch.Tensor:
        """Classifier ``c_view`` on ``(B, C, ...)`` normalised features."""
        return self.classifiers[view](feats) / self.temperature

    def assign_labels(self, feats: torch.Tensor, view: int) -> torch.Tensor:
        """Nearest fixed centroid of ``(B, C, ...)`` normalised features:
        ``(B, ...)`` ids, by Euclidean distance (``centroid_norm='raw'``:
        ``argmax_k 2 f.mu_k - |mu_k|^2``) or cosine (``'unit'``)."""
        centroids = self.centroids[view].float()
        # fp32 under autocast: bf16/fp16 scores change the nearest centroid
        with autocast_off(feats.device.type):
            scores = torch.einsum('bc...,kc->bk...',
                                  feats.detach().float(), centroids)
            if self.centroid_norm == 'raw':
                sq_norm = (centroids * centroids).sum(dim=1)
                scores = 2 * scores - sq_norm.view(1, -1,
                                                   *([1] * (scores.dim() - 2)))
        return scores.argmax(dim=1)

    def _lookup_labels(self, data_samples, size) -> List[torch.Tensor]:
        """``[(B, h, w)] * 2`` stored labels of the batch's images."""
        try:
            labels = torch.stack([
                self.stored_labels[int(sample.metainfo['sample_idx'])]
                for sample in data_samples
            ]).long().to(
                self.centroids.device, non_blocking=True)
        except KeyError as err:
            held = sorted(self.stored_labels)
            span = f'{held[0]}..{held[-1]}' if held else 'none'
            raise KeyError(
                "PiCIE(label_source='stored'): no stored label for image "
                f'{err} (this process holds {len(held)} labels, images '
                f'{span}). KMeansClusteringHook(assign_labels=True) must be '
                'in custom_hooks: before every epoch it labels every image '
                'of the train set on every process (DDP included); the '
                'train pipeline must pack `sample_idx` '
                '(PackMultiViewSegInputs) and the train dataset must be the '
                'one the hook labelled.') from err
        if tuple(labels.shape[2:]) != tuple(size):
            raise ValueError(
                f'PiCIE: stored labels of size {tuple(labels.shape[2:])} do '
                f'not match the feature map {tuple(size)}.')
        return [labels[:, 0], labels[:, 1]]

    def _ce(self, logits, labels, valid, view):
        weight = self.epoch_class_weights[view] \
            if self.class_weight == 'epoch' else None
        return self.loss_module(logits, labels, valid, class_weight=weight)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Invariance and equivariance losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): two ``(B, 3, H, W)`` batches of views.
            data_samples (list[SegDataSample]): ``view_boxes``/``view_flips``
                (and ``sample_idx`` with ``label_source='stored'``).

        Returns:
            dict[str, Tensor]: weighted ``loss_within`` and ``loss_cross``.
        """
        if not (isinstance(inputs, (list, tuple)) and len(inputs) >= 2):
            raise ValueError(
                'PiCIE.loss needs two views per image: build the train '
                'pipeline with MultiViewWithGeometry (or NestedCropViews) '
                'and PackMultiViewSegInputs.')
        views = self.align_features(inputs, data_samples)
        feats = views.maps
        labels = self._labels(feats, data_samples)
        loss_within = 0.5 * sum(
            self._ce(
                self.classify(feats[v], v), labels[v], views.map_valid, v)
            for v in range(2))
        # features of one view, the other view's classifier and labels, at
        # the compared points (the aligned maps themselves in 'dense')
        points = [views.at_points(feats[v], v) for v in range(2)]
        if points[0] is not feats[0]:
            labels = self._labels(points, data_samples)
        loss_cross = 0.5 * sum(
            self._ce(
                self.classify(points[1 -
                                     v], v), labels[v], views.point_mask, v)
            for v in range(2))
        return dict(
            loss_within=self.within_weight * loss_within,
            loss_cross=self.cross_weight * loss_cross)

    def _labels(self, feats, data_samples) -> List[torch.Tensor]:
        """``[(B, ...)] * 2`` labels of both views' normalised features:
        stored (``label_source='stored'``) or the nearest centroid."""
        if self.label_source == 'stored':
            return self._lookup_labels(data_samples, feats[0].shape[2:])
        return [self.assign_labels(feats[v], v) for v in range(2)]
