# Copyright (c) densesiam_mm contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .dense_feature_cache_hook import DenseFeatureCacheHook
from .dense_probe_hook import DenseProbeHook  # noqa: F401
from .kmeans_clustering_hook import KMeansClusteringHook
from .nan_guard_hook import NaNGuardHook
from .pretrained_check_hook import PretrainedCheckHook
from .region_sim_hook import RegionSimHook

__all__ = [
    'RegionSimHook', 'NaNGuardHook', 'KMeansClusteringHook',
    'DenseFeatureCacheHook', 'AtomicCheckpointHook', 'PretrainedCheckHook',
    'ChannelsLastHook'
]
