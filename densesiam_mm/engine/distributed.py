# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Distributed (DDP) training and testing on CPU with the gloo backend.

mmengine 0.10 assumes GPUs under a launcher: it calls
``torch.cuda.set_device`` before initialising the process group and gives
DDP ``device_ids=[LOCAL_RANK]``; both fail on CPU, and torch's DDP refuses
SyncBN layers in a CPU module. tools/train.py and tools/test.py call
:func:`setup_cpu_distributed` before building the Runner: it opens the gloo
process group and makes the Runner wrap the model in
:class:`CPUDistributedDataParallel`, which runs SyncBN layers as
per-process BN (with a warning). Nothing changes when a GPU is available.
"""
import torch
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS

from ..models.utils.sync_bn import count_sync_bn


def setup_cpu_distributed(cfg):
    """Initialise a gloo process group and a CPU DDP wrapper config.

    Only acts when ``cfg.launcher`` is not ``'none'`` and no GPU is
    available; ``torchrun`` provides the rendezvous environment. Returns
    ``cfg`` with ``model_wrapper_cfg.device_ids = None`` (and the type
    :class:`CPUDistributedDataParallel` instead of mmengine's default).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without GPUs is not supported; use '
            'tools/dist_train.sh (torchrun) for CPU runs.')
    if not is_distributed():
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        backend = dist_cfg.get('backend', 'gloo')
        if backend != 'gloo':
            print_log(
                f'No GPU: using the gloo backend instead of {backend}.',
                logger='current',
                level=30)
        torch.distributed.init_process_group(backend='gloo')
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False)
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    if wrapper['type'] == 'MMDistributedDataParallel':
        wrapper['type'] = 'CPUDistributedDataParallel'
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return cfg


def revert_sync_bn_on_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """Run SyncBN as per-process BN under DDP on CPU, with a warning.

    torch's SyncBN raises "SyncBatchNorm expected input tensor to be on GPU"
    for CPU tensors; on one process see
    :func:`~densesiam_mm.models.utils.revert_sync_bn_if_not_distributed`.
    """
    if not is_distributed() or torch.cuda.is_available():
        return model
    count = count_sync_bn(model)
    if count:
        print_log(
            f'SyncBN needs GPUs: {count} SyncBN layers run as per-process BN '
            'on CPU (statistics are not synchronised across processes).',
            logger='current',
            level=30)
        model = revert_sync_batchnorm(model)
    return model


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes (gloo).

    SyncBN layers of ``module`` become per-process BN before DDP wraps it
    (DDP refuses SyncBN in a CPU module). Arguments as
    ``MMDistributedDataParallel``; ``device_ids`` must be None.
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        super().__init__(module=revert_sync_bn_on_cpu(module), **kwargs)
