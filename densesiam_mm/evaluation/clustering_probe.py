# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Clustering probe: k-means on frozen dense features, no labels used."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.utils import ProgressBar
from torch import Tensor

from ..models.utils.kmeans import spherical_kmeans
from .metrics import HungarianIoUMetric


def _probe_features(model, inputs: Tensor) -> Tensor:
    """``(B, C, h, w)`` unit-norm probed features of a frozen-backbone
    model (the stages its :class:`LinearProbeHead` reads)."""
    feats = model.backbone_features(inputs)
    return F.normalize(model.decode_head.dense_features(feats), dim=1)


def _cluster_map(feats: Tensor, centroids: Tensor, sample,
                 input_size) -> Tensor:
    """``(H, W)`` cluster ids of one image at its ground-truth size.

    Cosine similarities ``(K, h, w)`` are upsampled bilinearly to the
    network input ``input_size = (H_in, W_in)`` (padded batch), cropped to
    the image and resized to the original shape (mmseg's
    ``postprocess_result`` path), then arg-maxed.
    """
    scores = torch.einsum('chw,kc->khw', feats, centroids)[None]
    pad_h, pad_w = input_size
    img_h, img_w = sample.img_shape[:2]
    scores = F.interpolate(
        scores, (pad_h, pad_w), mode='bilinear',
        align_corners=False)[..., :img_h, :img_w]
    scores = F.interpolate(
        scores, sample.ori_shape[:2], mode='bilinear', align_corners=False)
    return scores[0].argmax(0)


class ClusteringProbe:
    """The unsupervised counterpart of the linear probe.

    1. The frozen dense features of every image of a split (the stages the
       model's :class:`LinearProbeHead` reads, L2-normalised per pixel) are
       collected; ``points_per_image`` random pixels of each image (all when
       ``None``) form the k-means sample.
    2. Spherical k-means (:func:`spherical_kmeans`, k-means++ seeding) with
       ``k = num_classes`` clusters (and ``k = over_clustering * classes``
       when asked), one fit per seed. No label is used.
    3. Every pixel takes its most similar centroid (similarities upsampled to
       the label size), and :class:`HungarianIoUMetric` scores the cluster
       maps: one-to-one Hungarian matching for ``k = classes``, many-to-one
       ``'majority'`` matching for over-clustering.

    Args:
        num_clusters (Sequence[int], optional): the k values. Defaults to the
            number of classes and, with ``over_clustering``, that multiple.
        over_clustering (int, optional): also fit ``k = this x classes``.
        seeds (Sequence[int]): k-means seeds. Defaults to ``(0, )``.
        points_per_image (int, optional): pixels per image for the fit.
        num_iters (int): Lloyd iterations. Defaults to 30.
    """

    def __init__(self,
                 num_clusters: Optional[Sequence[int]] = None,
                 over_clustering: Optional[int] = None,
                 seeds: Sequence[int] = (0, ),
                 points_per_image: Optional[int] = None,
                 num_iters: int = 30) -> None:
        self.num_clusters = list(num_clusters) if num_clusters else None
        self.over_clustering = over_clustering
        self.seeds = list(seeds)
        self.points_per_image = points_per_image
        self.num_iters = num_iters

    def cluster_counts(self, num_classes: int) -> List[int]:
        counts = self.num_clusters or [num_classes]
        if self.over_clustering:
            counts = counts + [self.over_clustering * num_classes]
        return counts

    @torch.no_grad()
    def collect(self, model, dataloader, generator) -> Tensor:
        """``(M, C)`` unit-norm features sampled from every image."""
        points = []
        progress = ProgressBar(len(dataloader.dataset))
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            feats = _probe_features(model, data['inputs']).flatten(2)
            for image in feats:  # (C, h * w)
                keep = image.T
                if self.points_per_image is not None \
                        and keep.size(0) > self.points_per_image:
                    order = torch.randperm(keep.size(0), generator=generator)
                    keep = keep[order[:self.points_per_image]]
                points.append(keep)
                progress.update()
        return torch.cat(points)

    @torch.no_grad()
    def evaluate(self, model, dataloader) -> Dict[str, Dict[str, list]]:
        """Fit on the dataloader's images and score them.

        Args:
            model: a frozen-backbone :class:`LinearProbe` (eval mode).
            dataloader: the split to cluster and score (its dataset gives
                ``metainfo['classes']``).

        Returns:
            dict: for each k, ``'k={k}'`` -> ``{'seeds': [...], 'mIoU':
            [...], 'aAcc': [...], 'mAcc': [...], 'matching': ...}``.
        """
        model.eval()
        meta = dataloader.dataset.metainfo
        num_classes = len(meta['classes'])
        generator = torch.Generator().manual_seed(self.seeds[0])
        points = self.collect(model, dataloader, generator)
        runs = []  # (k, seed, centroids, metric)
        for k in self.cluster_counts(num_classes):
            matching = 'hungarian' if k <= num_classes else 'majority'
            for seed in self.seeds:
                centroids = spherical_kmeans(
                    points, k, self.num_iters,
                    torch.Generator().manual_seed(seed))
                metric = HungarianIoUMetric(
                    num_clusters=k,
                    matching=matching,
                    ignore_index=getattr(dataloader.dataset, 'ignore_index',
                                         255))
                metric.dataset_meta = meta
                runs.append((k, seed, centroids, metric))
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            feats = _probe_features(model, data['inputs'])
            for k, seed, centroids, metric in runs:
                results = []
                for image, sample in zip(feats, data['data_samples']):
                    pred = _cluster_map(image, centroids.to(image), sample,
                                        data['inputs'].shape[-2:])
                    results.append(
                        dict(
                            pred_sem_seg=dict(data=pred[None]),
                            gt_sem_seg=dict(
                                data=sample.gt_sem_seg.data.to(pred.device)),
                            img_path=sample.get('img_path')))
                metric.process({}, results)
        scores: Dict[str, Dict[str, list]] = {}
        for k, seed, _, metric in runs:
            values = metric.evaluate(len(dataloader.dataset))
            entry = scores.setdefault(
                f'k={k}',
                dict(
                    k=k,
                    matching=metric.matching,
                    seeds=[],
                    mIoU=[],
                    aAcc=[],
                    mAcc=[]))
            entry['seeds'].append(seed)
            for name in ('mIoU', 'aAcc', 'mAcc'):
                entry[name].append(values[name])
        return scores
