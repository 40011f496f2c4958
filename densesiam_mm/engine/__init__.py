# Copyright (c) densesiam_mm contributors. All rights reserved.
from .distributed import (CPUDistributedDataParallel, revert_sync_bn_on_cpu,
                          setup_cpu_distributed)
from .fileio import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = [
    'CPUDistributedDataParallel', 'revert_sync_bn_on_cpu',
    'setup_cpu_distributed'
]
