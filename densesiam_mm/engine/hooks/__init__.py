# Copyright (c) densesiam_mm contributors. All rights reserved.
from .dense_feature_cache_hook import DenseFeatureCacheHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .kmeans_clustering_hook import KMeansClusteringHook, spherical_kmeans
from .nan_guard_hook import NaNGuardHook
from .region_sim_hook import RegionSimHook

__all__ = [
    'RegionSimHook', 'NaNGuardHook', 'KMeansClusteringHook',
    'spherical_kmeans', 'DenseFeatureCacheHook',
    'AtomicCheckpointHook'
]
