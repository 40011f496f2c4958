# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Mixed-precision training on the CPU (bf16 autocast)."""
import logging
from contextlib import contextmanager
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .nan_guard_optim_wrapper import NaNGuardMixin

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}
#: CPU flags (``/proc/cpuinfo``) of native bf16 convolutions and matmuls
BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_has_native_bf16(cpuinfo: str = '/proc/cpuinfo') -> Optional[bool]:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX).

    Without them oneDNN emulates bf16, and autocast slows training down
    instead of speeding it up: on a 2-core AMD EPYC (Zen 3, AVX2 only) a
    ResNet-18 step at batch 16, 128 px took far longer in bf16 than in fp32
    (``docs/gpu.md``, "bf16 on the CPU").

    Returns:
        bool | None: True or False from the flags of ``cpuinfo``; None when
        that file cannot be read (not Linux): unknown.
    """
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith('flags'):
            flags.update(line.split(':', 1)[-1].split())
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def cpu_autocast_dtype(dtype: Union[str, torch.dtype]) -> torch.dtype:
    """The autocast dtype for CPU training, checked.

    Only ``bfloat16`` is accepted. It has fp32's exponent range, so
    gradients neither overflow nor underflow and no loss scale is needed;
    CPUs with AVX512-BF16 or AMX run its convolutions and matmuls natively.
    ``float16`` is refused: its 5-bit exponent needs a dynamic loss scale,
    which mmengine's ``AmpOptimWrapper`` only provides on CUDA/NPU/MLU.
    """
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(
                f'CPUAmpOptimWrapper: dtype={dtype!r} is not a dtype name; '
                'use "bfloat16"')
        dtype = _DTYPES[dtype]
    if dtype == torch.float16:
        raise ValueError(
            'CPUAmpOptimWrapper: float16 training on the CPU is not '
            'supported (it needs a dynamic loss scale, which mmengine '
            'provides only on CUDA/NPU/MLU through AmpOptimWrapper); use '
            'dtype="bfloat16", which has fp32\'s exponent range and needs '
            'no loss scale')
    if dtype != torch.bfloat16:
        raise ValueError(f'CPUAmpOptimWrapper: dtype={dtype} is not a '
                         'mixed-precision dtype; use "bfloat16"')
    return dtype


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward passes run under
    ``torch.autocast('cpu', dtype=torch.bfloat16)``.

    mmengine's ``AmpOptimWrapper`` asserts a CUDA, NPU or MLU device, so
    ``--amp`` could not be used on a CPU-only machine. This wrapper takes
    the same arguments as ``OptimWrapper`` plus ``dtype``; the backward pass
    and the optimizer step are those of ``OptimWrapper`` (parameters and
    gradients stay fp32, no loss scale: bf16 has fp32's exponent range).
    Losses that must be computed in fp32 (cosine similarity, softmax
    cross-entropy) leave autocast themselves.

    ``tools/train.py --amp`` selects it when CUDA is not available.

    Args:
        dtype (str | torch.dtype): autocast dtype; only ``'bfloat16'``
            (the default). ``'float16'`` is refused with the reason.
        **kwargs: ``OptimWrapper``'s arguments.

    Example:
        >>> optim_wrapper = dict(
        ...     type='CPUAmpOptimWrapper', dtype='bfloat16',
        ...     optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        self.cast_dtype = cpu_autocast_dtype(dtype)
        super().__init__(**kwargs)
        if cpu_has_native_bf16() is False:
            print_log(
                'CPUAmpOptimWrapper: this CPU has no native bf16 (neither '
                f'of {", ".join(BF16_CPU_FLAGS)} in /proc/cpuinfo), so bf16 '
                'autocast is emulated and training is slower than in fp32; '
                'use OptimWrapper (tools/train.py without --amp) here',
                logger='current',
                level=logging.WARNING)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper.optim_context`` (gradient accumulation) under CPU
        autocast."""
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield


@OPTIM_WRAPPERS.register_module()
class NaNGuardCPUAmpOptimWrapper(NaNGuardMixin, CPUAmpOptimWrapper):
    """:class:`CPUAmpOptimWrapper` (same arguments) whose ``update_params``
    skips the update of a non-finite loss (:class:`NaNGuardMixin`)."""
