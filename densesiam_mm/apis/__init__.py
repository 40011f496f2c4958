# Copyright (c) densesiam_mm contributors. All rights reserved.
from .inference import (cluster_palette, demo_pipeline,
                        inference_unsup_segmentor, init_unsup_segmentor)

__all__ = [
    'cluster_palette', 'demo_pipeline', 'inference_unsup_segmentor',
    'init_unsup_segmentor'
]
