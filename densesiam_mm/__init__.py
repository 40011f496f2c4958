# Copyright (c) densesiam_mm contributors. All rights reserved.
"""densesiam_mm: Dense Siamese Network (ECCV 2022) for OpenMMLab.

Importing the package registers its transforms, models, hooks and metrics in
mmpretrain's (pre-training) and mmseg's (segmentation) registries, and makes
mmengine's checkpoint loading work under torch's ``weights_only`` default.
"""
from .utils.checkpoint import patch_checkpoint_loading
from .version import __version__

patch_checkpoint_loading()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
