# Copyright (c) densesiam_mm contributors. All rights reserved.
from .checkpoint import load_checkpoint_file, patch_checkpoint_loading
from .cpu_distributed import (CPUDistributedDataParallel,
                              revert_sync_bn_on_cpu, setup_cpu_distributed)
from .input_checks import check_checkpoint_matches, check_dataset_files
from .registry_hints import UnknownRegistryNameError, registry_hints
from .sync_bn import revert_sync_bn_if_not_distributed

__all__ = [
    'load_checkpoint_file', 'patch_checkpoint_loading',
    'revert_sync_bn_if_not_distributed', 'check_checkpoint_matches',
    'check_dataset_files', 'UnknownRegistryNameError', 'registry_hints',
    'CPUDistributedDataParallel', 'revert_sync_bn_on_cpu',
    'setup_cpu_distributed'
]
