# Copyright (c) densesiam_mm contributors. All rights reserved.
import time
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import broadcast, get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@torch.no_grad()
def spherical_kmeans(points: torch.Tensor,
                     num_clusters: int,
                     num_iters: int = 20,
                     generator: Optional[torch.Generator] = None
                     ) -> torch.Tensor:
    """Batched spherical k-means (cosine similarity) in torch.

    k-means++ seeding on ``1 - cos``, then ``num_iters`` Lloyd iterations:
    assign every point to the most similar centroid, set each centroid to the
    normalised sum of its points. A cluster left empty is re-seeded with the
    point least similar to its centroid, so all ``num_clusters`` centroids
    stay distinct and finite.

    Args:
        points (Tensor): ``(M, C)`` features (normalised here).
        num_clusters (int): K.
        num_iters (int): Lloyd iterations. Defaults to 20.
        generator (torch.Generator, optional): for reproducible seeding.

    Returns:
        Tensor: ``(K, C)`` unit-norm centroids.
    """
    if points.dim() != 2 or points.size(0) < num_clusters:
        raise ValueError(
            f'spherical_kmeans: need a (M, C) tensor with M >= K = '
            f'{num_clusters} points, got shape {tuple(points.shape)}.')
    points = F.normalize(points.float(), dim=1)
    num_points = points.size(0)
    device = points.device
    first = torch.randint(num_points, (1, ), generator=generator)
    centroids = points[first.to(device)]
    min_dist = (1 - points @ centroids.T).clamp(min=0).squeeze(1)
    for _ in range(1, num_clusters):
        probs = min_dist + 1e-12
        index = torch.multinomial(probs.cpu(), 1, generator=generator)
        new = points[index.to(device)]
        centroids = torch.cat([centroids, new])
        min_dist = torch.minimum(min_dist,
                                 (1 - points @ new.T).clamp(min=0).squeeze(1))
    for _ in range(num_iters):
        similarity, assign = (points @ centroids.T).max(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=num_clusters)
        empty = counts == 0
        if empty.any():
            # worst-fitting points become the empty clusters' centroids
            worst = similarity.argsort()[:int(empty.sum())]
            sums[empty] = points[worst]
        centroids = F.normalize(sums, dim=1)
    return centroids


@HOOKS.register_module()
class KMeansClusteringHook(Hook):
    """PiCIE's clustering step: k-means on train-set features every epoch.

    Before each training epoch (or every ``interval`` iterations with
    ``by_epoch=False``) the model is switched to eval mode and the train
    dataloader is run for ``max_batches`` batches (all with ``None``); from
    each view of each image ``points_per_image`` random pixels of the
    normalised stride-4 features are kept, and :func:`spherical_kmeans`
    (``num_iters`` iterations, k-means++ seeding) gives one set of
    ``model.num_clusters`` centroids per view, passed to
    ``model.set_centroids``. The elapsed time is logged.

    In distributed training the centroids are computed on rank 0 from its
    share of the batches and broadcast to every rank. The hook runs before
    ``IterTimerHook`` so that the clustering time is not logged as data
    time of the first iteration.

    Args:
        interval (int): clustering period in epochs (iterations when
            ``by_epoch=False``). Defaults to 1.
        by_epoch (bool): see ``interval``. Defaults to True.
        max_batches (int, optional): batches used; needed with an infinite
            sampler. Defaults to None (one pass over the dataloader).
        points_per_image (int): pixels sampled per view. Defaults to 256.
        num_iters (int): k-means iterations. Defaults to 20.
        seed (int): seed of the pixel sampling and k-means seeding.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 interval: int = 1,
                 by_epoch: bool = True,
                 max_batches: Optional[int] = None,
                 points_per_image: int = 256,
                 num_iters: int = 20,
                 seed: int = 0) -> None:
        if interval < 1 or points_per_image < 1 or num_iters < 0:
            raise ValueError('KMeansClusteringHook: `interval` and '
                             '`points_per_image` must be >= 1 and '
                             '`num_iters` >= 0.')
        self.interval = interval
        self.by_epoch = by_epoch
        self.max_batches = max_batches
        self.points_per_image = points_per_image
        self.num_iters = num_iters
        self.seed = seed

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch and runner.epoch % self.interval == 0:
            self.cluster(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if not self.by_epoch and runner.iter % self.interval == 0:
            self.cluster(runner)

    @torch.no_grad()
    def collect_features(self, model, dataloader, generator):
        """``[(M, C)] * V`` sampled normalised features of each view."""
        per_view = None
        for index, data in enumerate(dataloader):
            if self.max_batches is not None and index >= self.max_batches:
                break
            views = model.data_preprocessor(data, True)['inputs']
            if per_view is None:
                per_view = [[] for _ in views]
            for view, store in zip(views, per_view):
                feats = model.normalized_feat(view).flatten(2)  # (B, C, P)
                num_pixels = feats.size(2)
                keep = torch.stack([
                    torch.randperm(num_pixels, generator=generator)
                    [:self.points_per_image] for _ in range(feats.size(0))
                ]).to(feats.device)
                sampled = feats.gather(
                    2, keep[:, None].expand(-1, feats.size(1), -1))
                store.append(sampled.transpose(1, 2).flatten(0, 1))
        if per_view is None:
            raise RuntimeError('KMeansClusteringHook: the train dataloader '
                               'gave no batch to cluster.')
        return [torch.cat(store) for store in per_view]

    def cluster(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        for attr in ('set_centroids', 'normalized_feat', 'num_clusters'):
            if not hasattr(model, attr):
                raise AttributeError(
                    f'KMeansClusteringHook: model {type(model).__name__} has '
                    f'no `{attr}` (use it with PiCIE).')
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(self.seed + runner.epoch +
                                                  runner.iter)
        was_training = model.training
        model.eval()
        centroids = torch.zeros_like(model.centroids)
        if get_rank() == 0:
            features = self.collect_features(model, runner.train_dataloader,
                                             generator)
            centroids = torch.stack([
                spherical_kmeans(feats, model.num_clusters, self.num_iters,
                                 generator) for feats in features[:2]
            ])
        broadcast(centroids, 0)
        model.set_centroids(centroids)
        model.train(was_training)
        runner.logger.info(
            f'KMeansClusteringHook: {model.num_clusters} clusters per view '
            f'in {time.perf_counter() - start:.1f}s (epoch {runner.epoch}, '
            f'iter {runner.iter}).')
