# Copyright (c) densesiam_mm contributors. All rights reserved.
from .distributed import (CPUDistributedDataParallel, count_sync_bn,
                          revert_sync_bn_if_not_distributed,
                          revert_sync_bn_on_cpu, setup_cpu_distributed)
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
