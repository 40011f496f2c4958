# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Mixed precision: the GPU recipe (bf16 autocast + channels_last) on CPU.

The CUDA benchmark and the paper-scale configs train under autocast; these
tests run the same code path with CPU bf16 autocast, so a dtype mismatch or
a loss computed in half precision shows up without a GPU.
"""
import copy

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import densesiam_mm  # noqa: F401
from ..conftest import config_path
from .test_densesiam import batch


def _model(seed=0):
    cfg = Config.fromfile(
        config_path('densesiam', 'densesiam_resnet18_1xb8-coslr-60i_demo.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(region_sim_enabled=True)
    torch.manual_seed(seed)
    return MODELS.build(model_cfg)


def _losses(model, inputs, samples, amp):
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
        return model.loss(inputs, samples)


@pytest.mark.parametrize('channels_last', [False, True])
def test_bf16_autocast_losses_are_fp32_and_close(channels_last):
    model = _model()
    inputs, samples = batch(batch_size=4, size=64)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        inputs = [
            x.contiguous(memory_format=torch.channels_last) for x in inputs
        ]
    ref = _losses(copy.deepcopy(model), inputs, samples, amp=False)
    amp = _losses(model, inputs, samples, amp=True)
    assert set(amp) == {'loss_global', 'loss_dense', 'loss_region'}
    for name, value in amp.items():
        # softmax / normalisation / log-softmax run in float32 inside
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value), name
        # bf16 has 8 bits of mantissa: cosines agree to ~1e-2
        assert abs(value.item() - ref[name].item()) < 5e-2, (name,
                                                             value.item(),
                                                             ref[name].item())


def test_bf16_autocast_backward_reaches_every_branch():
    model = _model()
    inputs, samples = batch(batch_size=4, size=64)
    losses = _losses(model, inputs, samples, amp=True)
    sum(losses.values()).backward()
    for prefix in ('backbone', 'neck', 'head', 'pix_sim_neck', 'pix_sim_head',
                   'region_sim_head'):
        grads = [
            p.grad for name, p in model.named_parameters()
            if name.startswith(prefix + '.')
        ]
        assert grads and all(g is not None for g in grads), prefix
        assert all(torch.isfinite(g).all() for g in grads), prefix
        assert any(g.abs().sum() > 0 for g in grads), prefix


def test_losses_accept_half_inputs_and_return_fp32():
    from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                            RegionInfoNCELoss)
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 16, 49, generator=gen)
    target = torch.randn(2, 16, 49, generator=gen)
    for mode in ('cosine', 'cross_entropy'):
        loss = DenseSimilarityLoss(mode=mode)
        full = loss(pred, target)
        half = loss(pred.bfloat16(), target.bfloat16())
        assert half.dtype == torch.float32
        torch.testing.assert_close(half, full, atol=2e-2, rtol=2e-2)
    regions = torch.randn(2, 8, 32, generator=gen)
    targets = torch.randn(2, 8, 32, generator=gen)
    info_nce = RegionInfoNCELoss(temperature=0.2)
    full = info_nce(regions, targets)
    half = info_nce(regions.bfloat16(), targets.bfloat16())
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, full, atol=5e-2, rtol=2e-2)
