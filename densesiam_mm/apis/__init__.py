# Copyright (c) densesiam_mm contributors. All rights reserved.
from .inference import (cluster_palette, demo_pipeline,
                        inference_unsup_segmentor, init_unsup_segmentor)
from .runner import ToolRunner, build_runner

__all__ = [
    'build_runner', 'cluster_palette', 'demo_pipeline',
    'inference_unsup_segmentor', 'init_unsup_segmentor', 'ToolRunner'
]
