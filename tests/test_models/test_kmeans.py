# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Spherical k-means of :mod:`densesiam_mm.models.utils.kmeans`."""
import pytest
import torch

from densesiam_mm.models.utils import spherical_kmeans


def test_spherical_kmeans_recovers_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    directions = torch.eye(3)
    points = torch.cat(
        [d + 0.05 * torch.randn(50, 3, generator=gen) for d in directions])
    centroids = spherical_kmeans(points, 3, num_iters=10, generator=gen)
    assert torch.allclose(centroids.norm(dim=1), torch.ones(3))
    # every true direction has one centroid within a few degrees
    assert (centroids @ directions.T).max(dim=0).values.min() > 0.99
    # duplicates only: still K finite, unit centroids
    same = spherical_kmeans(torch.ones(10, 4), 3, generator=gen)
    assert torch.isfinite(same).all() and same.shape == (3, 4)
    with pytest.raises(ValueError, match='M >= K'):
        spherical_kmeans(torch.randn(2, 4), 3)
