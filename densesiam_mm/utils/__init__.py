# Copyright (c) densesiam_mm contributors. All rights reserved.
from .checkpoint import load_checkpoint_file, patch_checkpoint_loading
from .sync_bn import revert_sync_bn_if_not_distributed

__all__ = [
    'load_checkpoint_file', 'patch_checkpoint_loading',
    'revert_sync_bn_if_not_distributed'
]
