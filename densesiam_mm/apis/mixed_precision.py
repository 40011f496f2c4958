# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Mixed precision for a training config: ``tools/train.py --amp`` and the
benchmarks that train through :func:`~densesiam_mm.apis.build_runner`."""
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..engine.optimizers import cpu_has_native_bf16


def use_amp(cfg: Config, channels_last: bool = False) -> str:
    """Switch ``cfg`` to mixed-precision training where it is faster.

    The config's optim wrapper becomes mmengine's ``AmpOptimWrapper`` (fp16,
    dynamic loss scale) when CUDA is available, otherwise our
    ``CPUAmpOptimWrapper`` (bf16 autocast, no loss scale) when the CPU has
    native bf16 (AVX512-BF16 or AMX). On a CPU without it the wrapper stays
    fp32: bf16 would be emulated and slower (``docs/gpu.md``). A config whose
    wrapper already is an AMP wrapper keeps it.

    Args:
        cfg (Config): a training config; changed in place.
        channels_last (bool): also append a ``ChannelsLastHook`` to
            ``cfg.custom_hooks`` (the fastest layout under autocast).

    Returns:
        str: what the run trains in, e.g. ``'bf16 (CPUAmpOptimWrapper)'``,
        ``'fp32 (no native bf16 on this CPU)'``, with ``' + channels_last'``
        when the hook was added; for run records and logs.
    """
    wrapper = cfg.optim_wrapper
    kind = str(wrapper.get('type', 'OptimWrapper')).split('.')[-1]
    if 'Amp' in kind:
        precision = f'as configured ({kind})'
    elif torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
        precision = 'fp16 (AmpOptimWrapper)'
    elif cpu_has_native_bf16() is False:
        print_log(
            '--amp: this CPU has no native bf16 (no AVX512-BF16 or AMX in '
            '/proc/cpuinfo): bf16 would be emulated and slower than fp32, '
            f'so optim_wrapper stays {kind} (fp32)',
            logger='current',
            level=logging.WARNING)
        precision = 'fp32 (no native bf16 on this CPU)'
    else:
        wrapper.type = 'CPUAmpOptimWrapper'
        wrapper.setdefault('dtype', 'bfloat16')
        precision = 'bf16 (CPUAmpOptimWrapper)'
    if precision.startswith(('fp16', 'bf16')):
        print_log(
            f'--amp: optim_wrapper type {kind} -> {wrapper.type}',
            logger='current')
    if channels_last:
        use_channels_last(cfg)
        precision += ' + channels_last'
    return precision


def use_channels_last(cfg: Config) -> None:
    """Append a ``ChannelsLastHook`` to ``cfg.custom_hooks``: the model
    trains in the channels-last memory format (``--channels-last``)."""
    hooks = list(cfg.get('custom_hooks') or [])
    cfg.custom_hooks = hooks + [dict(type='ChannelsLastHook')]
