# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SyncBN on a single process.

Paper configs use SyncBN, as the published results do. Built on one GPU or
on CPU without a process group, SyncBN fails at the first forward with
"Default process group has not been initialized".
:func:`revert_sync_bn_if_not_distributed` swaps every SyncBN layer for
mmengine's ``_BatchNormXd`` (same parameters, buffers and state-dict keys;
any input rank), which is what SyncBN computes on one process, and logs a
warning. densesiam_mm's models call it when built; ``tools/train.py`` and
``tools/test.py`` call it on any model they build (mmdet, mmseg). Under DDP
on CPU, :class:`~densesiam_mm.engine.CPUDistributedDataParallel` does the
same per process.
"""
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from torch import nn


def count_sync_bn(module: nn.Module) -> int:
    """Number of SyncBN layers (torch's or mmcv's) in ``module``."""
    return sum('SyncBatchNorm' in type(m).__name__ for m in module.modules())


def revert_sync_bn_if_not_distributed(module: nn.Module) -> nn.Module:
    """Replace SyncBN layers by BN when no process group is initialised.

    Returns the (possibly new) module; children are replaced in place.
    """
    if is_distributed():
        return module
    count = count_sync_bn(module)
    if not count:
        return module
    print_log(
        f'{type(module).__name__}: no distributed process group, so '
        f'{count} SyncBN layers run as BN (identical on one process). '
        'Launch with tools/dist_train.sh to synchronise them.',
        logger='current',
        level=30)
    return revert_sync_batchnorm(module)
