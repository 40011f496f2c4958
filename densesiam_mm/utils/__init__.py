# Copyright (c) densesiam_mm contributors. All rights reserved.
from .atomic_io import (remove_partial_files, save_text_atomically,
                        torch_save_atomically, write_atomically)
from .checkpoint import (CheckpointFileError, add_checksum,
                         load_checkpoint_file, looks_like_torch_file,
                         patch_checkpoint_loading, read_model_weights,
                         tensor_checksum, verify_checksum)
from .cpu_distributed import (CPUDistributedDataParallel,
                              revert_sync_bn_on_cpu, setup_cpu_distributed)
from .demo_data import demo_data_root
from .input_checks import (check_checkpoint_matches, check_dataset_files,
                           check_train_batches, guard_batch_norm,
                           load_weights_strictly)
from .pretrained_init import CheckedPretrainedInit
from .registry_hints import UnknownRegistryNameError, registry_hints
from .resume import find_resume_checkpoint, resolve_resume
from .sync_bn import revert_sync_bn_if_not_distributed

__all__ = [
    'load_checkpoint_file', 'patch_checkpoint_loading',
    'revert_sync_bn_if_not_distributed', 'check_checkpoint_matches',
    'check_dataset_files', 'UnknownRegistryNameError', 'registry_hints',
    'CPUDistributedDataParallel', 'revert_sync_bn_on_cpu',
    'setup_cpu_distributed', 'add_checksum', 'CheckpointFileError',
    'looks_like_torch_file', 'read_model_weights', 'tensor_checksum',
    'verify_checksum', 'write_atomically', 'save_text_atomically',
    'torch_save_atomically', 'remove_partial_files', 'demo_data_root',
    'check_train_batches', 'guard_batch_norm',
    'CheckedPretrainedInit', 'find_resume_checkpoint', 'resolve_resume',
    'load_weights_strictly'
]
