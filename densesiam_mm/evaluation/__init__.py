# Copyright (c) densesiam_mm contributors. All rights reserved.
from .clustering_probe import ClusteringProbe
from .dense_probe import DenseProbe  # noqa: F401
from .metrics import HungarianIoUMetric, hungarian_match, majority_match

__all__ = [
    'ClusteringProbe', 'HungarianIoUMetric', 'hungarian_match',
    'majority_match'
]
