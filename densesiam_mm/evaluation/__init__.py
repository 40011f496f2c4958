# Copyright (c) densesiam_mm contributors. All rights reserved.
from .clustering_probe import ClusteringProbe
from .metrics import HungarianIoUMetric, hungarian_match, majority_match

__all__ = [
    'ClusteringProbe', 'HungarianIoUMetric', 'hungarian_match',
    'majority_match'
]
