# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checkpoint I/O in one place: checked reading, unwrapping and matching,
checksums, atomic writes, resume lookup and the ``CheckedPretrained``
initializer."""
from .atomic import (refuse_to_overwrite_inputs, remove_partial_files,
                     save_bytes_atomically, save_text_atomically,
                     torch_save_atomically, write_atomically)
from .checksum import add_checksum, tensor_checksum, verify_checksum
from .errors import CheckpointFileError
from .loading import (is_local_file, load_checkpoint_file,
                      looks_like_torch_file, mmengine_loading,
                      read_model_weights, trusts_checkpoints, unsafe_globals)
from .matching import (KeyMatch, extract_prefix, is_optional_key, key_groups,
                       match_state_dict, select_prefix, suggest_prefix,
                       unwrap_state_dict)
from .pretrained_init import CheckedPretrainedInit, check_pretrained_inits
from .resume import find_resume_checkpoint, resolve_resume
from .safe_globals import (allow_mmengine_checkpoints, history_buffer_getattr,
                           mmengine_safe_globals)

__all__ = [
    'is_local_file', 'refuse_to_overwrite_inputs', 'save_bytes_atomically',
    'remove_partial_files', 'save_text_atomically', 'torch_save_atomically',
    'write_atomically', 'add_checksum', 'tensor_checksum', 'verify_checksum',
    'CheckpointFileError', 'load_checkpoint_file', 'looks_like_torch_file',
    'mmengine_loading', 'read_model_weights', 'trusts_checkpoints',
    'unsafe_globals', 'KeyMatch', 'extract_prefix', 'is_optional_key',
    'key_groups', 'match_state_dict', 'select_prefix', 'suggest_prefix',
    'unwrap_state_dict', 'CheckedPretrainedInit', 'check_pretrained_inits',
    'find_resume_checkpoint', 'resolve_resume', 'allow_mmengine_checkpoints',
    'history_buffer_getattr', 'mmengine_safe_globals'
]
