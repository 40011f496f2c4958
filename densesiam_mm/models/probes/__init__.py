# Copyright (c) densesiam_mm contributors. All rights reserved.
from .backbone_weights import (backbone_state_dict, load_backbone_weights,
                               resnet_depth, resnet_stage_channels)
from .dense_feature_cache import (DenseFeatureCache, module_digest,
                                  tensor_digest)
from .linear_probe import LinearProbe
from .linear_probe_head import LinearProbeHead

__all__ = [
    'LinearProbe', 'LinearProbeHead', 'DenseFeatureCache', 'module_digest',
    'tensor_digest', 'load_backbone_weights', 'backbone_state_dict',
    'resnet_depth', 'resnet_stage_channels'
]
