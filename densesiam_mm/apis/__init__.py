# Copyright (c) densesiam_mm contributors. All rights reserved.
from .inference import (cluster_palette, demo_pipeline,
                        inference_unsup_segmentor, init_unsup_segmentor)
from .mixed_precision import use_amp, use_channels_last
from .preflight import (check_checkpoint_matches, check_dataset_files,
                        check_train_batches, guard_batch_norm,
                        load_weights_strictly)
from .registry_hints import UnknownRegistryNameError, registry_hints
from .runner import ToolRunner, build_runner
from .work_dir_lock import WorkDirBusyError, lock_work_dir

__all__ = [
    'build_runner', 'cluster_palette', 'demo_pipeline',
    'inference_unsup_segmentor', 'init_unsup_segmentor', 'ToolRunner',
    'check_checkpoint_matches', 'check_dataset_files', 'check_train_batches',
    'guard_batch_norm', 'load_weights_strictly', 'UnknownRegistryNameError',
    'registry_hints', 'WorkDirBusyError', 'lock_work_dir', 'use_amp',
    'use_channels_last'
]
