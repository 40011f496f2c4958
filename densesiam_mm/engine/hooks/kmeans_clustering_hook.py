# Copyright (c) densesiam_mm contributors. All rights reserved.
import math
import time
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar
from mmseg.registry import HOOKS
from torch.utils.data import DataLoader, Sampler

from ...models.utils.streamed_kmeans import (StreamedKMeans, faiss_kmeans,
                                             gather_rows_on_rank0)


class ShardSampler(Sampler):
    """Indices ``rank, rank + world, ...`` of ``0 .. size - 1``, padded with
    the shard's first index to ``ceil(size / world)`` so that every rank
    runs the same number of batches (the padding is marked by
    :attr:`num_real`, the count of real entries).

    With batch ``B`` per rank, global step ``t`` covers images
    ``t * B * world ... (t + 1) * B * world - 1``: the same images as one
    process at batch ``B * world``.
    """

    def __init__(self, size: int, rank: int = 0, world: int = 1) -> None:
        self.indices = list(range(rank, size, world))
        self.num_real = len(self.indices)
        total = math.ceil(size / world) if size else 0
        pad = self.indices[:1] or [0]
        self.indices += pad * (total - self.num_real)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


@HOOKS.register_module()
class KMeansClusteringHook(Hook):
    """PiCIE's clustering step: k-means on train-set features every epoch.

    Before each training epoch (or every ``interval`` iterations with
    ``by_epoch=False``) the train set is run without gradients; the model's
    features of both views (``model.view_features``: in dense mode view 2
    is sampled at view 1's cells, as the losses see it) are clustered into
    ``model.num_clusters`` centroids per view, passed to
    ``model.set_centroids``.

    ``clustering``:

    - ``'every_pixel'`` (the authors'): every pixel of every image and view,
      streamed through :class:`StreamedKMeans` (PiCIE's mini-batch k-means
      with faiss: a faiss k-means on the first ``init_batches`` batches,
      then running-mean updates every ``update_batches`` batches). Memory:
      the features of ``init_batches`` batches, whatever the data set size.
    - ``'sampled'``: ``points_per_image`` random pixels per image and view
      (seeded by image, epoch and view), one faiss k-means on all of them.
      Memory grows with the data set: for CPU-sized runs.

    Centroids are Euclidean k-means centroids (the authors' raw centroids)
    or, when the model's ``centroid_norm`` is ``'unit'``, spherical ones.

    With ``assign_labels=True`` (the authors' protocol) a second pass
    labels every pixel with ``model.assign_labels`` (nearest centroid; the
    same frozen model and, with ``NestedCropViews(replay_seed=...)``, the
    same views the epoch trains on); ``model.set_pseudo_labels`` gets the
    labels of **every** image (by ``sample_idx``) on every process and
    ``model.set_class_weights`` the cluster sizes ``n_vk / n_v`` over all
    processes.

    **Distributed training.** The hook reads the train dataloader's dataset
    through its own sampler (:class:`ShardSampler`: rank ``r`` takes images
    ``r, r + world, ...`` in index order, ``batch_size`` per rank), so the
    result does not depend on the train sampler's epoch or shuffling:
    the initial features are gathered on rank 0, the mini-batch sums and
    counts are all-reduced, the labels all-gathered. N processes at batch
    ``B`` give the clustering of one process at batch ``N * B``. The hook
    runs before ``IterTimerHook`` so that the clustering time is not logged
    as data time of the first iteration.

    Args:
        interval (int): clustering period in epochs (iterations when
            ``by_epoch=False``). Defaults to 1.
        by_epoch (bool): see ``interval``. Defaults to True.
        clustering (str): ``'every_pixel'`` or ``'sampled'``. Defaults to
            'every_pixel'.
        batch_size (int, optional): clustering batch per process; None: the
            train dataloader's. Defaults to None.
        init_batches (int): ``'every_pixel'``: batches (per process) of the
            initial k-means (PiCIE: 30). Defaults to 30.
        update_batches (int): ``'every_pixel'``: batches per mini-batch
            update (PiCIE: 30). Defaults to 30.
        points_per_image (int): ``'sampled'``: pixels per image and view.
            Defaults to 256.
        max_batches (int, optional): batches per process and pass (for
            tests and infinite samplers). Defaults to None (all).
        num_iters (int): faiss k-means iterations. Defaults to 20.
        seed (int): seed of the pixel sampling and of faiss.
        bn_mode (str): ``'eval'`` (running statistics, the authors') or
            ``'train'``. Defaults to 'eval'.
        assign_labels (bool): store the epoch's labels and class weights.
            Defaults to False.
        reset_optimizer_state (bool): drop the optimiser state of the
            re-initialised classifiers. Defaults to True.
        progress (bool): a progress bar per pass on rank 0. Defaults to
            True.
    """
    priority = 'ABOVE_NORMAL'
    bn_modes = ('eval', 'train')
    clusterings = ('every_pixel', 'sampled')

    def __init__(self,
                 interval: int = 1,
                 by_epoch: bool = True,
                 clustering: str = 'every_pixel',
                 batch_size: Optional[int] = None,
                 init_batches: int = 30,
                 update_batches: int = 30,
                 points_per_image: int = 256,
                 max_batches: Optional[int] = None,
                 num_iters: int = 20,
                 seed: int = 0,
                 bn_mode: str = 'eval',
                 assign_labels: bool = False,
                 reset_optimizer_state: bool = True,
                 progress: bool = True) -> None:
        if clustering not in self.clusterings:
            raise ValueError(f'KMeansClusteringHook: unknown `clustering` '
                             f'{clustering!r}; choose one of '
                             f'{self.clusterings}.')
        if bn_mode not in self.bn_modes:
            raise ValueError(f'KMeansClusteringHook: unknown `bn_mode` '
                             f'{bn_mode!r}; choose one of {self.bn_modes}.')
        for name, value in (('interval', interval),
                            ('init_batches', init_batches), ('update_batches',
                                                             update_batches),
                            ('points_per_image',
                             points_per_image), ('num_iters', num_iters)):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f'KMeansClusteringHook: `{name}` must be an '
                                 f'int >= 1, got {value!r}.')
        if batch_size is not None and batch_size < 1:
            raise ValueError('KMeansClusteringHook: `batch_size` must be >= '
                             f'1 or None, got {batch_size!r}.')
        self.interval = interval
        self.by_epoch = by_epoch
        self.clustering = clustering
        self.batch_size = batch_size
        self.init_batches = init_batches
        self.update_batches = update_batches
        self.points_per_image = points_per_image
        self.max_batches = max_batches
        self.num_iters = num_iters
        self.seed = seed
        self.bn_mode = bn_mode
        self.assign_labels = assign_labels
        self.reset_optimizer_state = reset_optimizer_state
        self.progress = progress
        self.last_time = None
        self.last_times: Dict[str, float] = {}
        self.last_kmeans: List[StreamedKMeans] = []

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch and runner.epoch % self.interval == 0:
            self.cluster(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if not self.by_epoch and runner.iter % self.interval == 0:
            self.cluster(runner)

    # ------------------------------------------------------------ data
    def cluster_loader(self, train_loader) -> Tuple[object, Optional[int]]:
        """The loader of a clustering pass and the number of real images of
        this rank (None: every image of the loader is real).

        A torch ``DataLoader`` is re-read in index order through
        :class:`ShardSampler`; any other iterable of batches is used as
        it is (one process)."""
        if not isinstance(train_loader, DataLoader):
            return train_loader, None
        sampler = ShardSampler(
            len(train_loader.dataset), dist.get_rank(), dist.get_world_size())
        batch_size = self.batch_size or train_loader.batch_size or 1
        loader = DataLoader(
            train_loader.dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=train_loader.num_workers,
            collate_fn=train_loader.collate_fn,
            worker_init_fn=train_loader.worker_init_fn,
            drop_last=False)
        return loader, sampler.num_real

    @staticmethod
    def _view_features(model, data):
        """``[(B, C, h, w)] * 2`` features and ``(B, h, w)`` validity (or
        None) of a preprocessed batch."""
        views = data['inputs']
        if hasattr(model, 'view_features'):
            return model.view_features(views, data['data_samples'])
        return [model.normalized_feat(view) for view in views[:2]], None

    def _batches(self, model, loader, num_real, title):
        """Per batch: ``(B,)`` sample indices, ``(B,)`` bool real (not
        padding), ``[(B, C, h, w)] * 2`` features, validity."""
        bar = None
        if self.progress and dist.get_rank() == 0 and hasattr(
                loader, '__len__'):
            total = len(loader)
            if self.max_batches is not None:
                total = min(total, self.max_batches)
            print(f'KMeansClusteringHook: {title}', flush=True)
            bar = ProgressBar(total)
        seen = 0
        for index, data in enumerate(loader):
            if self.max_batches is not None and index >= self.max_batches:
                break
            data = model.data_preprocessor(data, True)
            samples = data['data_samples']
            try:
                indices = torch.tensor(
                    [int(s.metainfo['sample_idx']) for s in samples])
            except KeyError as err:
                raise KeyError('KMeansClusteringHook: a train sample has no '
                               '`sample_idx`; the train pipeline must pack it '
                               '(PackMultiViewSegInputs).') from err
            real = torch.ones(len(samples), dtype=torch.bool)
            if num_real is not None:
                real = torch.arange(seen, seen + len(samples)) < num_real
            seen += len(samples)
            feats, valid = self._view_features(model, data)
            if bar is not None:
                bar.update()
            yield indices, real, feats, valid
        if bar is not None:
            print(flush=True)

    @staticmethod
    def _rows(feat, indices, real, valid):
        """``(M, C)`` features of the real, valid cells of ``(B, C, h, w)``
        and their ``(M,)`` image indices."""
        flat = feat.flatten(2).transpose(1, 2)  # (B, P, C)
        keep = real[:, None].expand(-1, flat.size(1)).to(flat.device)
        if valid is not None:
            keep = keep & valid.flatten(1).to(keep.device)
        keys = indices[:, None].expand(-1, flat.size(1)).to(flat.device)
        return flat[keep], keys[keep]

    # ------------------------------------------------------------ passes
    @torch.no_grad()
    def cluster_every_pixel(self, model, loader, num_real,
                            spherical: bool) -> torch.Tensor:
        """``(2, K, C)`` centroids of every pixel (streamed)."""
        self.last_kmeans = [
            StreamedKMeans(
                model.num_clusters,
                model.centroids.size(-1),
                num_iters=self.num_iters,
                init_batches=self.init_batches,
                update_batches=self.update_batches,
                seed=self.seed + view,
                spherical=spherical) for view in range(2)
        ]
        for indices, real, feats, valid in self._batches(
                model, loader, num_real, 'clustering every pixel'):
            for view in range(2):
                rows, keys = self._rows(feats[view], indices, real, valid)
                self.last_kmeans[view].add(rows, keys)
        return torch.stack([km.result() for km in self.last_kmeans])

    @torch.no_grad()
    def cluster_sampled(self, model, loader, num_real, spherical: bool,
                        epoch: int) -> torch.Tensor:
        """``(2, K, C)`` centroids of ``points_per_image`` pixels per image
        and view (all gathered on rank 0, ordered by image)."""
        per_view = [([], []), ([], [])]
        for indices, real, feats, valid in self._batches(
                model, loader, num_real, 'clustering sampled pixels'):
            for view in range(2):
                flat = feats[view].flatten(2).transpose(1, 2)
                for i in range(flat.size(0)):
                    if not real[i]:
                        continue
                    cells = flat[i]
                    if valid is not None:
                        cells = cells[valid[i].flatten().to(cells.device)]
                    gen = torch.Generator().manual_seed(
                        hash((self.seed, epoch, int(indices[i]), view)) %
                        (2**63))
                    keep = torch.randperm(
                        cells.size(0), generator=gen)[:self.points_per_image]
                    per_view[view][0].append(cells[keep.to(cells.device)])
                    per_view[view][1].append(
                        torch.full((keep.numel(), ), int(indices[i])))
        centroids = torch.zeros_like(model.centroids).cpu()
        for view in range(2):
            rows = torch.cat(per_view[view][0]) if per_view[view][0] else \
                torch.zeros(0, centroids.size(-1))
            keys = torch.cat(per_view[view][1]) if per_view[view][1] else \
                torch.zeros(0, dtype=torch.long)
            rows, _ = gather_rows_on_rank0(rows.float().cpu(), keys)
            if dist.get_rank() == 0:
                centroids[view] = faiss_kmeans(rows, model.num_clusters,
                                               self.num_iters,
                                               self.seed + view, spherical)
        dist.broadcast(centroids, 0)
        return centroids

    @torch.no_grad()
    def label_pass(self, model, loader, num_real):
        """Nearest-centroid labels of every pixel of every image (complete
        on every rank) and the per-view cluster sizes ``(2, K)``."""
        labels = {}
        counts = torch.zeros(2, model.num_clusters, dtype=torch.float64)
        for indices, real, feats, _ in self._batches(model, loader, num_real,
                                                     'labelling every pixel'):
            per_view = [model.assign_labels(feats[v], v) for v in range(2)]
            for view in range(2):
                counts[view] += torch.bincount(
                    per_view[view][real.to(
                        per_view[view].device)].flatten().cpu(),
                    minlength=model.num_clusters).double()
            stacked = torch.stack(per_view, dim=1).to(torch.uint8).cpu()
            if dist.get_world_size() > 1:
                stacked = torch.cat(dist.all_gather(stacked))
                indices = torch.cat(dist.all_gather(indices))
                real = torch.cat(dist.all_gather(real))
            for idx, label, is_real in zip(indices.tolist(), stacked, real):
                if is_real:
                    labels[idx] = label
        dist.all_reduce(counts)
        return labels, (counts /
                        counts.sum(dim=1, keepdim=True).clamp(min=1)).float()

    def cluster(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        for attr in ('set_centroids', 'assign_labels', 'num_clusters'):
            if not hasattr(model, attr):
                raise AttributeError(
                    f'KMeansClusteringHook: model {type(model).__name__} has '
                    f'no `{attr}` (use it with PiCIE).')
        spherical = getattr(model, 'centroid_norm', 'unit') == 'unit'
        was_training = model.training
        model.train(self.bn_mode == 'train')
        loader, num_real = self.cluster_loader(runner.train_dataloader)
        start = time.perf_counter()
        if self.clustering == 'every_pixel':
            centroids = self.cluster_every_pixel(model, loader, num_real,
                                                 spherical)
        else:
            centroids = self.cluster_sampled(model, loader, num_real,
                                             spherical, runner.epoch)
        model.set_centroids(centroids)
        self.last_times = dict(clustering=time.perf_counter() - start)
        if self.assign_labels:
            start_labels = time.perf_counter()
            labels, weights = self.label_pass(model, loader, num_real)
            model.set_pseudo_labels(labels)
            model.set_class_weights(weights)
            self.last_times['labels'] = time.perf_counter() - start_labels
        if self.reset_optimizer_state and hasattr(model, 'classifiers'):
            optimizer = getattr(
                getattr(runner, 'optim_wrapper', None), 'optimizer', None)
            if isinstance(optimizer, torch.optim.Optimizer):  # built
                for param in model.classifiers.parameters():
                    optimizer.state.pop(param, None)
        model.train(was_training)
        self.last_time = time.perf_counter() - start
        times = ', '.join(f'{k} {v:.1f}s' for k, v in self.last_times.items())
        loss = ''
        if self.clustering == 'every_pixel':
            loss = ', k-means loss ' + ' / '.join(f'{km.mean_distance():.4f}'
                                                  for km in self.last_kmeans)
        runner.logger.info(
            f'KMeansClusteringHook: {model.num_clusters} clusters per view '
            f'({self.clustering}, {"unit" if spherical else "raw"} '
            f'centroids) in {self.last_time:.1f}s ({times}{loss}; epoch '
            f'{runner.epoch}, iter {runner.iter}, bn_mode={self.bn_mode}, '
            f'{dist.get_world_size()} process(es)'
            f'{", labels of every image stored" if self.assign_labels else ""}'
            ').')
