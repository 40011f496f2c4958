# Copyright (c) densesiam_mm contributors. All rights reserved.
"""bf16 training on the CPU: CPUAmpOptimWrapper, ChannelsLastHook and
``tools/train.py --amp --channels-last``."""
import types

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import OPTIM_WRAPPERS

import densesiam_mm  # noqa: F401
from densesiam_mm.apis import mixed_precision, use_amp
from densesiam_mm.apis.runner import use_nan_guard_optim_wrapper
from densesiam_mm.engine.hooks import ChannelsLastHook
from densesiam_mm.engine.optimizers import (CPUAmpOptimWrapper,
                                            NaNGuardCPUAmpOptimWrapper,
                                            cpu_has_native_bf16)
from ..conftest import load_script


def small_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))


def test_forward_runs_in_bf16_and_update_in_fp32():
    torch.manual_seed(0)
    net = small_net()
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='CPUAmpOptimWrapper',
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1)))
    assert wrapper.cast_dtype == torch.bfloat16
    x = torch.randn(4, 3, 16, 16)
    with wrapper.optim_context(net):
        conv_out = net[0](x)
        out = net(x)
    assert conv_out.dtype == torch.bfloat16
    assert net[0](x).dtype == torch.float32  # autocast ends with the context
    before = net[0].weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert net[0].weight.dtype == torch.float32
    assert not torch.equal(before, net[0].weight)
    assert torch.isfinite(net[0].weight).all()


@pytest.mark.parametrize('dtype', ['float16', torch.float16])
def test_float16_refused_with_reason(dtype):
    net = small_net()
    with pytest.raises(ValueError, match='float16 training on the CPU'):
        CPUAmpOptimWrapper(
            dtype=dtype, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    with pytest.raises(ValueError, match='bfloat16'):
        CPUAmpOptimWrapper(
            dtype='fp8', optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


def test_nan_guard_swap_keeps_cpu_amp():
    cfg = Config(
        dict(
            optim_wrapper=dict(type='CPUAmpOptimWrapper'),
            default_hooks=dict(nan_guard=dict(type='NaNGuardHook'))))
    assert use_nan_guard_optim_wrapper(cfg)
    assert cfg.optim_wrapper.type == 'NaNGuardCPUAmpOptimWrapper'
    assert issubclass(NaNGuardCPUAmpOptimWrapper, CPUAmpOptimWrapper)


def test_channels_last_hook_converts_model_not_values():
    torch.manual_seed(0)
    net = small_net().eval()
    x = torch.randn(2, 3, 16, 16)
    expected = net(x)
    ChannelsLastHook().before_run(types.SimpleNamespace(model=net))
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert net[0](x).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-5)


def amp_args(train, channels_last):
    """``tools/train.py CONFIG --amp [--channels-last]``, parsed."""
    return train.argparse.Namespace(
        launcher='none',
        work_dir='/tmp/unused',
        amp=True,
        channels_last=channels_last,
        resume=None,
        cfg_options=None,
        auto_scale_lr=False,
        config='x.py')


def test_train_tool_amp_picks_the_cpu_wrapper(monkeypatch):
    train = load_script('tools/train.py')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(mixed_precision, 'cpu_has_native_bf16', lambda: True)
    args = amp_args(train, channels_last=True)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    cfg = train.merge_args(cfg, args)
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.custom_hooks[-1] == dict(type='ChannelsLastHook')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = train.merge_args(
        Config(dict(optim_wrapper=dict(type='OptimWrapper'))), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    zen3 = tmp_path / 'zen3'
    zen3.write_text('processor\t: 0\nflags\t\t: fpu sse avx2 fma\n'
                    'processor\t: 1\nflags\t\t: fpu sse avx2 fma\n')
    sapphire = tmp_path / 'sapphire'
    sapphire.write_text('flags\t\t: avx2 avx512f avx512_bf16 amx_bf16\n')
    assert cpu_has_native_bf16(str(zen3)) is False
    assert cpu_has_native_bf16(str(sapphire)) is True
    assert cpu_has_native_bf16(str(tmp_path / 'missing')) is None


def test_amp_keeps_fp32_on_a_cpu_without_native_bf16(monkeypatch):
    """bf16 is emulated there and slower than fp32 (docs/gpu.md)."""
    train = load_script('tools/train.py')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(mixed_precision, 'cpu_has_native_bf16', lambda: False)
    args = amp_args(train, channels_last=False)
    cfg = train.merge_args(
        Config(dict(optim_wrapper=dict(type='NaNGuardOptimWrapper'))), args)
    assert cfg.optim_wrapper.type == 'NaNGuardOptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper


@pytest.mark.parametrize('native, cuda, wrapper, precision', [
    (True, False, 'CPUAmpOptimWrapper', 'bf16 (CPUAmpOptimWrapper)'),
    (False, False, 'OptimWrapper', 'fp32 (no native bf16 on this CPU)'),
    (None, True, 'AmpOptimWrapper', 'fp16 (AmpOptimWrapper)'),
])
def test_use_amp_says_what_the_run_trains_in(monkeypatch, native, cuda,
                                             wrapper, precision):
    """The benchmarks record the returned words with each run, so runs of
    different precision are never averaged together."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(mixed_precision, 'cpu_has_native_bf16', lambda: native)
    cfg = Config(
        dict(
            optim_wrapper=dict(type='OptimWrapper'),
            custom_hooks=[dict(type='RegionSimHook')]))
    assert use_amp(cfg, channels_last=True) == precision + ' + channels_last'
    assert cfg.optim_wrapper.type == wrapper
    assert [h['type'] for h in cfg.custom_hooks
            ] == ['RegionSimHook', 'ChannelsLastHook']
    configured = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper')))
    assert use_amp(configured) == 'as configured (AmpOptimWrapper)'
