# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Clustering probe: k-means of label-coded features finds the classes."""
import pytest
import torch
from mmengine.dataset import pseudo_collate

from densesiam_mm.evaluation import ClusteringProbe
from .test_linear_probe import build_colour_probe, colour_coded_batch


class ColourCodedDataset(torch.utils.data.Dataset):
    """Images of class-coloured blocks as packed mmseg samples."""
    metainfo = dict(classes=('red', 'green', 'blue', 'white'))

    def __init__(self, num=6):
        self.images, _, self.samples = colour_coded_batch(num=num, seed=1)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return dict(
            inputs=self.images[index].to(torch.uint8),
            data_samples=self.samples[index])


def test_kmeans_probe_matches_the_classes_of_label_coded_features():
    model = build_colour_probe()
    loader = torch.utils.data.DataLoader(
        ColourCodedDataset(), batch_size=3, collate_fn=pseudo_collate)
    probe = ClusteringProbe(over_clustering=2, seeds=(0, 1))
    scores = probe.evaluate(model, loader)
    exact = scores['k=4']
    assert exact['matching'] == 'hungarian' and exact['seeds'] == [0, 1]
    assert exact['mIoU'] == [pytest.approx(100.0)] * 2
    assert exact['aAcc'] == [pytest.approx(100.0)] * 2
    over = scores['k=8']  # over-clustering, many-to-one matching
    assert over['matching'] == 'majority'
    assert over['mIoU'] == [pytest.approx(100.0)] * 2


def test_cluster_counts():
    assert ClusteringProbe().cluster_counts(11) == [11]
    assert ClusteringProbe(over_clustering=3).cluster_counts(11) == [11, 33]
    assert ClusteringProbe(num_clusters=[5]).cluster_counts(11) == [5]
