# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Mini-batch k-means streamed over a data set, on N processes, with faiss.

PiCIE's clustering scheme (janghyuncho/PiCIE ``run_mini_batch_kmeans``):
a faiss k-means on the features of the first ``init_batches`` batches
gives the initial centroids; every following group of ``update_batches``
batches is assigned to the current centroids, and each centroid moves to
the running mean of all points it was given so far
(``c_k <- (1 - n_k / N_k) c_k + (n_k / N_k) mean_k``, ``N_k`` the points
counted for cluster ``k`` since the start). Memory is bounded by the
features of ``init_batches`` batches (the group updates keep only ``(K, C)``
sums and ``(K,)`` counts), never by the data set.

On N processes every rank streams its own shard: the initial features are
gathered on rank 0 (ordered by the caller's keys, so that the result does
not depend on how the data was split), the group sums and counts are
all-reduced, and every rank applies the same update.
"""
from typing import Optional

import faiss
import numpy as np
import torch
import torch.nn.functional as F
from mmengine import dist


def _faiss_gpu_available() -> bool:
    return (torch.cuda.is_available()
            and hasattr(faiss, 'StandardGpuResources')
            and faiss.get_num_gpus() > 0)


def faiss_kmeans(points: torch.Tensor,
                 num_clusters: int,
                 num_iters: int = 20,
                 seed: int = 0,
                 spherical: bool = False) -> torch.Tensor:
    """k-means with faiss (Euclidean; ``spherical``: unit-norm centroids).

    Every point is used (faiss' sub-sampling to 256 points per centroid is
    turned off, as in PiCIE). A GPU index is used when CUDA and faiss' GPU
    support are both present.

    Args:
        points (Tensor): ``(M, C)`` features, ``M >= num_clusters``.
        num_clusters (int): K.
        num_iters (int): Lloyd iterations. Defaults to 20.
        seed (int): faiss' seed of the initial centroids. Defaults to 0.
        spherical (bool): normalise the centroids after every iteration.

    Returns:
        Tensor: ``(K, C)`` float32 centroids on the CPU.
    """
    if points.dim() != 2 or points.size(0) < num_clusters:
        raise ValueError(
            f'faiss_kmeans: need a (M, C) tensor with M >= K = '
            f'{num_clusters} points, got shape {tuple(points.shape)}.')
    data = np.ascontiguousarray(points.detach().float().cpu().numpy())
    if not np.isfinite(data).all():
        raise ValueError('faiss_kmeans: the features contain NaN or inf.')
    dim = data.shape[1]
    clus = faiss.Clustering(dim, num_clusters)
    clus.niter = max(int(num_iters), 1)
    clus.seed = int(seed)
    clus.spherical = bool(spherical)
    clus.max_points_per_centroid = max(data.shape[0], 1)
    clus.min_points_per_centroid = 1
    clus.verbose = False
    clus.train(data, build_index(dim))
    return torch.from_numpy(
        faiss.vector_float_to_array(clus.centroids).reshape(num_clusters,
                                                            dim).copy())


def build_index(dim: int):
    """A flat L2 faiss index (on the GPU when faiss can use one)."""
    if _faiss_gpu_available():
        resources = faiss.StandardGpuResources()
        config = faiss.GpuIndexFlatConfig()
        config.useFloat16 = False
        config.device = torch.cuda.current_device()
        index = faiss.GpuIndexFlatL2(resources, dim, config)
        index.resources = resources  # keep alive with the index
        return index
    return faiss.IndexFlatL2(dim)


def nearest_centroid(points: torch.Tensor, centroids: torch.Tensor):
    """Nearest centroid (squared Euclidean distance) of every point.

    Args:
        points (Tensor): ``(M, C)``.
        centroids (Tensor): ``(K, C)``.

    Returns:
        tuple[Tensor, Tensor]: ``(M,)`` int64 labels and ``(M,)`` squared
        distances, on the CPU.
    """
    index = build_index(centroids.size(1))
    index.add(np.ascontiguousarray(centroids.detach().float().cpu().numpy()))
    dists, labels = index.search(
        np.ascontiguousarray(points.detach().float().cpu().numpy()), 1)
    return torch.from_numpy(labels[:, 0]).long(), torch.from_numpy(dists[:, 0])


def gather_rows_on_rank0(rows: torch.Tensor, keys: torch.Tensor):
    """Rows (``(M_r, C)``) and keys (``(M_r,)``) of every rank, on rank 0
    (other ranks get None), sorted by key (stable)."""
    world = dist.get_world_size()
    if world > 1:
        size = torch.tensor([rows.size(0)], dtype=torch.long)
        sizes = [int(s) for s in dist.all_gather(size)]
        longest = max(sizes)
        pad = longest - rows.size(0)
        rows = F.pad(rows, (0, 0, 0, pad))
        keys = F.pad(keys, (0, pad))
        all_rows = dist.gather(rows, dst=0)
        all_keys = dist.gather(keys, dst=0)
        if dist.get_rank() != 0:
            return None, None
        rows = torch.cat([r[:n] for r, n in zip(all_rows, sizes)])
        keys = torch.cat([k[:n] for k, n in zip(all_keys, sizes)])
    order = torch.sort(keys, stable=True).indices
    return rows[order], keys[order]


class StreamedKMeans:
    """PiCIE's mini-batch k-means over a stream of feature batches.

    Call :meth:`add` with every batch of features (each rank its own shard,
    the same number of calls on every rank), then :meth:`result`.

    Args:
        num_clusters (int): K.
        dim (int): C, the feature channels.
        num_iters (int): faiss k-means iterations of the initial
            clustering. Defaults to 20.
        init_batches (int): batches (per rank) whose features give the
            initial centroids (PiCIE: 30). Defaults to 30.
        update_batches (int): batches per mini-batch update (PiCIE: 30).
            Defaults to 30.
        seed (int): faiss seed. Defaults to 0.
        spherical (bool): unit-norm centroids (renormalised after every
            update). Defaults to False (PiCIE: raw centroids).
    """

    def __init__(self,
                 num_clusters: int,
                 dim: int,
                 num_iters: int = 20,
                 init_batches: int = 30,
                 update_batches: int = 30,
                 seed: int = 0,
                 spherical: bool = False) -> None:
        if init_batches < 1 or update_batches < 1:
            raise ValueError('StreamedKMeans: `init_batches` and '
                             '`update_batches` must be >= 1.')
        self.num_clusters = num_clusters
        self.dim = dim
        self.num_iters = num_iters
        self.init_batches = init_batches
        self.update_batches = update_batches
        self.seed = seed
        self.spherical = spherical
        self.centroids: Optional[torch.Tensor] = None
        self.counts = torch.zeros(num_clusters, dtype=torch.float64)
        self._init_rows, self._init_keys = [], []
        self._sums = torch.zeros(num_clusters, dim, dtype=torch.float64)
        self._group_counts = torch.zeros(num_clusters, dtype=torch.float64)
        self._group_batches = 0
        self._dist_sum = torch.zeros(2, dtype=torch.float64)  # sum, count
        self.peak_buffer_rows = 0

    def add(self, feats: torch.Tensor, keys: torch.Tensor) -> None:
        """One batch: ``(M, C)`` features and their ``(M,)`` int64 keys
        (e.g. image index; the initial features are ordered by key)."""
        feats = feats.detach().float().cpu()
        if self.centroids is None:
            self._init_rows.append(feats)
            self._init_keys.append(keys.detach().long().cpu())
            self.peak_buffer_rows = max(
                self.peak_buffer_rows, sum(r.size(0) for r in self._init_rows))
            if len(self._init_rows) == self.init_batches:
                self._initialise()
            return
        labels, dists = nearest_centroid(feats, self.centroids)
        self._dist_sum += torch.tensor([dists.double().sum(), dists.numel()])
        self._sums.index_add_(0, labels, feats.double())
        self._group_counts += torch.bincount(
            labels, minlength=self.num_clusters).double()
        self._group_batches += 1
        if self._group_batches == self.update_batches:
            self._update()

    def _initialise(self) -> None:
        rows = torch.cat(self._init_rows) if self._init_rows else \
            torch.zeros(0, self.dim)
        keys = torch.cat(self._init_keys) if self._init_keys else \
            torch.zeros(0, dtype=torch.long)
        self._init_rows, self._init_keys = [], []
        rows, keys = gather_rows_on_rank0(rows, keys)
        centroids = torch.zeros(self.num_clusters, self.dim)
        counts = torch.zeros(self.num_clusters, dtype=torch.float64)
        if dist.get_rank() == 0:
            centroids = faiss_kmeans(rows, self.num_clusters, self.num_iters,
                                     self.seed, self.spherical)
            labels, dists = nearest_centroid(rows, centroids)
            counts = torch.bincount(
                labels, minlength=self.num_clusters).double()
            self._dist_sum += torch.tensor(
                [dists.double().sum(), dists.numel()])
        dist.broadcast(centroids, 0)
        dist.broadcast(counts, 0)
        self.centroids = centroids
        self.counts = counts

    def _update(self) -> None:
        dist.all_reduce(self._sums)
        dist.all_reduce(self._group_counts)
        present = self._group_counts > 0
        if present.any():
            self.counts += self._group_counts
            rate = (self._group_counts / self.counts.clamp(min=1))[present]
            means = self._sums[present] / self._group_counts[present, None]
            moved = (1 - rate[:, None]) * self.centroids[present].double() \
                + rate[:, None] * means
            if self.spherical:
                moved = F.normalize(moved, dim=1)
            self.centroids[present] = moved.float()
        self._sums.zero_()
        self._group_counts.zero_()
        self._group_batches = 0

    def result(self) -> torch.Tensor:
        """``(K, C)`` float32 centroids after the last batch (a partial
        last group is applied; fewer batches than ``init_batches``: plain
        k-means on all of them)."""
        if self.centroids is None:
            self._initialise()
        elif self._group_batches:
            self._update()
        return self.centroids.clone()

    def mean_distance(self) -> float:
        """Mean squared distance of the streamed points to their centroid
        at assignment time (PiCIE's "k-means loss"), over all ranks."""
        total = self._dist_sum.clone()
        dist.all_reduce(total)
        return float(total[0] / total[1].clamp(min=1))
