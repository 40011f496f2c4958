# Copyright (c) densesiam_mm contributors. All rights reserved.
import time
from typing import Optional

import torch
from mmengine.dist import broadcast, get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.utils.kmeans import spherical_kmeans


@HOOKS.register_module()
class KMeansClusteringHook(Hook):
    """PiCIE's clustering step: k-means on train-set features every epoch.

    Before each training epoch (or every ``interval`` iterations with
    ``by_epoch=False``) the train dataloader is run without gradients for
    ``max_batches`` batches (all with ``None``); the model's features of
    both views (``model.view_features`` when it has one: in dense mode view
    2 is sampled at view 1's cells, as the losses see it; else
    ``model.normalized_feat`` per view) are kept - every pixel with
    ``points_per_image=None``, else that many random pixels per image and
    view - and :func:`spherical_kmeans` (``num_iters`` iterations,
    k-means++ seeding) gives one set of ``model.num_clusters`` centroids per
    view, passed to ``model.set_centroids``.

    With ``assign_labels=True`` (the authors' protocol; needs every pixel)
    each kept pixel is then labelled with its nearest centroid - the same
    frozen model and, with ``NestedCropViews(replay_seed=...)``, the same
    views the epoch trains on - and the labels are handed to
    ``model.set_pseudo_labels`` (by ``sample_idx``), the per-view cluster
    sizes ``n_vk / n_v`` to ``model.set_class_weights``. PiCIE's code does
    this in a second pass over the data; with the features of every pixel
    kept (``points_per_image=None``) the first pass has them already, else
    (large data sets: the features of every pixel do not fit in memory)
    :meth:`label_pass` runs that second pass.

    ``bn_mode``: the model's mode while extracting (``'eval'``: running
    statistics, the authors' code; ``'train'``: batch statistics, which
    also updates the running ones; use it from a random initialisation,
    whose running statistics are meaningless). ``reset_optimizer_state``
    drops the optimiser state (momentum) of the re-initialised classifiers.

    In distributed training the centroids are computed on rank 0 from its
    share of the batches and broadcast to every rank (``assign_labels``
    needs one process). The hook runs before ``IterTimerHook`` so that the
    clustering time is not logged as data time of the first iteration.

    Args:
        interval (int): clustering period in epochs (iterations when
            ``by_epoch=False``). Defaults to 1.
        by_epoch (bool): see ``interval``. Defaults to True.
        max_batches (int, optional): batches used; needed with an infinite
            sampler. Defaults to None (one pass over the dataloader).
        points_per_image (int, optional): pixels sampled per view; None:
            all. Defaults to 256.
        num_iters (int): k-means iterations. Defaults to 20.
        seed (int): seed of the pixel sampling and k-means seeding.
        bn_mode (str): ``'eval'`` or ``'train'``. Defaults to 'eval'.
        assign_labels (bool): store the epoch's labels and class weights.
            Defaults to False.
        reset_optimizer_state (bool): Defaults to True.
    """
    priority = 'ABOVE_NORMAL'
    bn_modes = ('eval', 'train')

    def __init__(self,
                 interval: int = 1,
                 by_epoch: bool = True,
                 max_batches: Optional[int] = None,
                 points_per_image: Optional[int] = 256,
                 num_iters: int = 20,
                 seed: int = 0,
                 bn_mode: str = 'eval',
                 assign_labels: bool = False,
                 reset_optimizer_state: bool = True) -> None:
        if interval < 1 or num_iters < 0 or (points_per_image is not None
                                             and points_per_image < 1):
            raise ValueError('KMeansClusteringHook: `interval` and '
                             '`points_per_image` must be >= 1 (or '
                             '`points_per_image` None) and `num_iters` >= 0.')
        if bn_mode not in self.bn_modes:
            raise ValueError(f'KMeansClusteringHook: unknown `bn_mode` '
                             f'{bn_mode!r}; choose one of {self.bn_modes}.')
        self.interval = interval
        self.by_epoch = by_epoch
        self.max_batches = max_batches
        self.points_per_image = points_per_image
        self.num_iters = num_iters
        self.seed = seed
        self.bn_mode = bn_mode
        self.assign_labels = assign_labels
        self.reset_optimizer_state = reset_optimizer_state
        self.last_time = None

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch and runner.epoch % self.interval == 0:
            self.cluster(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if not self.by_epoch and runner.iter % self.interval == 0:
            self.cluster(runner)

    @staticmethod
    def _view_features(model, data):
        """``[(B, C, h, w)] * 2`` normalised features and ``(B, h, w)``
        validity (or None) of a preprocessed batch."""
        views = data['inputs']
        if hasattr(model, 'view_features'):
            return model.view_features(views, data['data_samples'])
        return [model.normalized_feat(view) for view in views[:2]], None

    @torch.no_grad()
    def collect_features(self, model, dataloader, generator):
        """Features of each view.

        Returns:
            tuple: ``[(M, C)] * 2`` features to cluster, and (for
            ``assign_labels``) a list of per-batch records
            ``(sample_idx list, [(B, P, C)] * 2, (h, w))``.
        """
        per_view = [[], []]
        batches = []
        for index, data in enumerate(dataloader):
            if self.max_batches is not None and index >= self.max_batches:
                break
            data = model.data_preprocessor(data, True)
            feats, valid = self._view_features(model, data)
            size = feats[0].shape[2:]
            flat = [f.flatten(2).transpose(1, 2) for f in feats]  # (B, P, C)
            if self.points_per_image is None:
                keep = None if valid is None else valid.flatten(1)
                for view in range(2):
                    per_view[view].append(flat[view].flatten(0, 1) if keep is
                                          None else flat[view][keep])
                if self.assign_labels:
                    batches.append(([
                        int(s.metainfo['sample_idx'])
                        for s in data['data_samples']
                    ], flat, size))
                continue
            for view in range(2):
                num_pixels = flat[view].size(1)
                keep = torch.stack([
                    torch.randperm(num_pixels,
                                   generator=generator)[:self.points_per_image]
                    for _ in range(flat[view].size(0))
                ]).to(flat[view].device)
                sampled = flat[view].gather(
                    1, keep[..., None].expand(-1, -1, flat[view].size(2)))
                per_view[view].append(sampled.flatten(0, 1))
        if not per_view[0]:
            raise RuntimeError('KMeansClusteringHook: the train dataloader '
                               'gave no batch to cluster.')
        return [torch.cat(store) for store in per_view], batches

    @torch.no_grad()
    def label_pass(self, model, dataloader, num_clusters):
        """Second pass: nearest-centroid labels of every pixel of every
        image (the same views with ``NestedCropViews(replay_seed=...)``) and
        the per-view cluster-size weights ``(2, K)``."""
        labels, counts = {}, torch.zeros(2, num_clusters)
        for index, data in enumerate(dataloader):
            if self.max_batches is not None and index >= self.max_batches:
                break
            data = model.data_preprocessor(data, True)
            feats, _ = self._view_features(model, data)
            flat = [f.flatten(2).transpose(1, 2) for f in feats]
            indices = [
                int(s.metainfo['sample_idx']) for s in data['data_samples']
            ]
            batch_labels, batch_counts = self.label_pixels(
                model.centroids, [(indices, flat, feats[0].shape[2:])],
                num_clusters,
                normalize=False)
            labels.update(batch_labels)
            counts += batch_counts
        return labels, counts / counts.sum(dim=1, keepdim=True).clamp(min=1)

    @torch.no_grad()
    def label_pixels(self, centroids, batches, num_clusters, normalize=True):
        """Nearest-centroid labels of every kept pixel and the per-view
        cluster-size weights ``(2, K)``."""
        labels, counts = {}, torch.zeros(2, num_clusters)
        for indices, flat, (height, width) in batches:
            per_view = []
            for view in range(2):
                assign = (flat[view] @ centroids[view].T).argmax(dim=-1)
                counts[view] += torch.bincount(
                    assign.flatten().cpu(), minlength=num_clusters).float()
                per_view.append(assign.view(-1, height, width))
            stacked = torch.stack(per_view, dim=1).to(torch.uint8).cpu()
            labels.update(zip(indices, stacked))
        if not normalize:
            return labels, counts
        return labels, counts / counts.sum(dim=1, keepdim=True).clamp(min=1)

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
        model.train(self.bn_mode == 'train')
        centroids = torch.zeros_like(model.centroids)
        batches = []
        if get_rank() == 0:
            features, batches = self.collect_features(model,
                                                      runner.train_dataloader,
                                                      generator)
            centroids = torch.stack([
                spherical_kmeans(feats, model.num_clusters, self.num_iters,
                                 generator) for feats in features
            ])
        broadcast(centroids, 0)
        model.set_centroids(centroids)
        if self.assign_labels and self.points_per_image is None:
            labels, weights = self.label_pixels(model.centroids, batches,
                                                model.num_clusters)
        elif self.assign_labels:
            labels, weights = self.label_pass(model, runner.train_dataloader,
                                              model.num_clusters)
        if self.assign_labels:
            model.set_pseudo_labels(labels)
            model.set_class_weights(weights)
        if self.reset_optimizer_state and hasattr(model, 'classifiers'):
            optimizer = getattr(
                getattr(runner, 'optim_wrapper', None), 'optimizer', None)
            if isinstance(optimizer, torch.optim.Optimizer):  # built
                for param in model.classifiers.parameters():
                    optimizer.state.pop(param, None)
        model.train(was_training)
        self.last_time = time.perf_counter() - start
        runner.logger.info(
            f'KMeansClusteringHook: {model.num_clusters} clusters per view '
            f'in {self.last_time:.1f}s (epoch {runner.epoch}, '
            f'iter {runner.iter}, bn_mode={self.bn_mode}'
            f'{", labels stored" if self.assign_labels else ""}).')
