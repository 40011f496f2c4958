# Copyright (c) densesiam_mm contributors. All rights reserved.
"""StreamedKMeans: PiCIE's mini-batch k-means (faiss), bounded memory."""
import torch

from densesiam_mm.models.utils.streamed_kmeans import (StreamedKMeans,
                                                       faiss_kmeans,
                                                       nearest_centroid)


def blobs(num, gen, centres):
    labels = torch.randint(len(centres), (num, ), generator=gen)
    return centres[labels] + 0.05 * torch.randn(
        num, centres.size(1), generator=gen), labels


def test_faiss_kmeans_and_nearest_centroid():
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(3, 8) * 4
    points, _ = blobs(300, gen, centres)
    centroids = faiss_kmeans(points, 3, num_iters=10)
    # every true centre has a centroid within 0.05
    assert torch.cdist(centres, centroids).min(1).values.max() < 0.05
    labels, dists = nearest_centroid(points, centroids)
    expected = torch.cdist(points, centroids).argmin(1)
    assert torch.equal(labels, expected)
    torch.testing.assert_close(
        dists,
        torch.cdist(points, centroids).min(1).values**2,
        rtol=1e-4,
        atol=1e-4)


def test_mini_batch_update_is_the_running_mean():
    """After the initial k-means, a group moves centroid k to
    ``(1 - n_k / N_k) c_k + (n_k / N_k) mean_k`` (PiCIE's rule)."""
    gen = torch.Generator().manual_seed(1)
    centres = torch.eye(2, 4) * 4
    init, _ = blobs(40, gen, centres)
    km = StreamedKMeans(2, 4, num_iters=5, init_batches=1, update_batches=2)
    km.add(init, torch.zeros(40, dtype=torch.long))
    c0, n0 = km.centroids.clone(), km.counts.clone()
    assert n0.sum() == 40
    group = [blobs(10, gen, centres)[0] for _ in range(2)]
    for batch in group:
        km.add(batch, torch.ones(10, dtype=torch.long))
    points = torch.cat(group)
    labels = torch.cdist(points, c0).argmin(1)
    for k in range(2):
        n_k = (labels == k).sum()
        rate = n_k / (n0[k] + n_k)
        expected = (1 - rate) * c0[k] + rate * points[labels == k].mean(0)
        torch.testing.assert_close(km.result()[k], expected.float())


def test_memory_does_not_grow_with_the_data():
    """The largest feature buffer is that of the initial batches, for 20 or
    60 batches (the group updates keep (K, C) sums only)."""
    gen = torch.Generator().manual_seed(2)
    centres = torch.eye(4, 16) * 4
    peaks = []
    for num_batches in (20, 60):
        km = StreamedKMeans(
            4, 16, num_iters=10, init_batches=2, update_batches=3)
        for i in range(num_batches):
            km.add(
                blobs(256, gen, centres)[0],
                torch.full((256, ), i, dtype=torch.long))
        peaks.append(km.peak_buffer_rows)
        centroids = km.result()
        assert centroids.shape == (4, 16) and torch.isfinite(centroids).all()
        assert km.counts.sum() == 256 * num_batches  # every point counted
    assert peaks == [512, 512]
