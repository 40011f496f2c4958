# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Spherical k-means in torch, shared by PiCIE's clustering hook and the
clustering probe."""
from typing import Optional

import torch
import torch.nn.functional as F

from .autocast import autocast_off


@torch.no_grad()
def spherical_kmeans(
        points: torch.Tensor,
        num_clusters: int,
        num_iters: int = 20,
        generator: Optional[torch.Generator] = None) -> torch.Tensor:
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
    # fp32 under autocast: bf16/fp16 similarities change the assignments
    with autocast_off(points.device.type):
        return _spherical_kmeans(points, num_clusters, num_iters, generator)


def _spherical_kmeans(points, num_clusters, num_iters, generator):
    """:func:`spherical_kmeans` after its checks, autocast off."""
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
