# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A train step of each algorithm without a host-device sync, and steps
under fp16 and bf16 autocast that stay finite.

The sync check runs the forward and backward of the second step (the
first one warms up lazy initialisation) under
``torch.cuda.set_sync_debug_mode('error')`` on a GPU; on the CPU
(``DENSESIAM_TEST_DEVICE=cpu``) under :class:`common.HostSyncGuard`, which
raises on the ops that would synchronise a GPU. Moving the batch to the
device is the data preprocessor's job and is done before; the optimizer
step (SGD) comes after.
"""
import pytest
import torch

from . import common

pytestmark = common.PYTESTMARK


@pytest.mark.parametrize('name', common.ALGORITHMS)
def test_step_without_host_sync(name):
    dev = common.device()
    model, inputs, samples = common.build_case(name)
    model, inputs = common.to_device(model, inputs, dev)
    optimizer = common.optimizer_of(model)
    common.train_step(name, model, optimizer, inputs, samples)
    optimizer.step()
    with common.no_host_sync(dev):
        losses = common.train_step(name, model, optimizer, inputs, samples)
    optimizer.step()
    assert all(torch.isfinite(v) for v in losses.values())


def test_sync_guard_is_real():
    """The check catches ``.item()`` and a boolean mask in a step."""
    dev = common.device()
    x = torch.randn(8, device=dev, requires_grad=True)
    with pytest.raises(RuntimeError, match='sync'):
        with common.no_host_sync(dev):
            (x * x).sum().item()
    with pytest.raises(RuntimeError, match='sync'):
        with common.no_host_sync(dev):
            x[x > 0].sum().backward()


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
@pytest.mark.parametrize('name', common.ALGORITHMS)
def test_mixed_precision_step_is_finite(name, dtype):
    """Losses and gradients of a step under autocast are finite and the
    losses are float32 and within 10 % (or 0.05) of fp32's."""
    dev = common.device()
    model, inputs, samples = common.build_case(name)
    model_ref, inputs = common.to_device(model, inputs, dev)
    model, _ = common.to_device(model, [], dev)
    ref = common.losses_of(name, model_ref, inputs, samples)
    optimizer = common.optimizer_of(model)
    losses = common.train_step(name, model, optimizer, inputs, samples,
                               getattr(torch, dtype))
    for key, value in losses.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value), key
        tol = max(0.05, 0.1 * abs(ref[key].item()))
        assert abs(value.item() - ref[key].item()) <= tol, (key, value.item(),
                                                            ref[key].item())
    for pname, p in model.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), pname
    optimizer.step()
