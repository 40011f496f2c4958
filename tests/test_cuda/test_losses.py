# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Each loss's value and gradients on the device equal the CPU's.

Two levels: the loss modules on random inputs (gradients with respect to
the inputs), and every loss term of each algorithm (gradients of each term
with respect to every parameter), from identical models and batches.
"""
import pytest
import torch

from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                        RebalancedPseudoLabelLoss,
                                        RegionInfoNCELoss, UniGradLoss)
from . import common

pytestmark = common.PYTESTMARK


def _close_grads(got, ref, name, rel=1e-3):
    """``|g_dev - g_cpu| <= rel |g_cpu|`` (norms; float32 reductions run in
    a different order on the device)."""
    if ref is None:
        assert got is None, name
        return
    assert got is not None, name
    got = got.detach().cpu().float()
    err = (got - ref).norm().item()
    assert err <= rel * ref.norm().item() + 1e-6, (name, err,
                                                   ref.norm().item())


def _module_case(loss, shapes, extra, dev, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randn(*shape, generator=gen, requires_grad=True)
        for shape in shapes
    ]
    ref = loss(*inputs, *extra)
    ref.backward()
    inputs_dev = [x.detach().to(dev).requires_grad_() for x in inputs]
    got = loss.to(dev)(*inputs_dev, *(e.to(dev) if torch.is_tensor(e) else e
                                      for e in extra))
    got.backward()
    assert got.device.type == dev.type and got.dtype == torch.float32
    torch.testing.assert_close(
        got.detach().cpu(), ref.detach(), atol=1e-5, rtol=1e-5)
    for i, (x, x_dev) in enumerate(zip(inputs, inputs_dev)):
        _close_grads(x_dev.grad, x.grad, f'input {i}')


@pytest.mark.parametrize('mode', ['cosine', 'cross_entropy'])
def test_dense_similarity_loss(mode):
    """PixSim (cosine) and DenseSiam-Seg's L_seg (cross-entropy), with a
    per-point mask (dense correspondence)."""
    valid = torch.rand(4, 7, 7, generator=torch.Generator().manual_seed(3))
    _module_case(
        DenseSimilarityLoss(mode=mode), [(4, 16, 7, 7), (4, 16, 7, 7)],
        [valid > 0.3], common.device())


def test_region_info_nce_loss():
    """RegionSim / kernel contrast, one pair invalid."""
    _module_case(
        RegionInfoNCELoss(temperature=0.2), [(3, 8, 32), (3, 8, 32)],
        [torch.tensor([True, False, True])], common.device())


@pytest.mark.parametrize('rebalance', ['inverse', 'proportional'])
def test_rebalanced_pseudo_label_loss(rebalance):
    """PiCIE's and DenseSiam-Seg's pseudo-label cross-entropy, with the
    epoch's class weights."""
    gen = torch.Generator().manual_seed(4)
    labels = torch.randint(5, (2, 6, 6), generator=gen)
    weight = torch.rand(5, generator=gen)
    _module_case(
        RebalancedPseudoLabelLoss(rebalance=rebalance), [(2, 5, 6, 6)],
        [labels, torch.tensor([True, True]), weight], common.device())


def test_unigrad_loss():
    _module_case(UniGradLoss(), [(4, 9, 16), (4, 9, 16)], [], common.device())


@pytest.mark.parametrize('name', common.ALGORITHMS)
def test_algorithm_losses_and_gradients(name):
    """Every loss term of the algorithm, and its gradient on every
    parameter, on the device equal the CPU's (no TF32)."""
    dev = common.device()
    model, inputs, samples = common.build_case(name)
    model_dev, inputs_dev = common.to_device(model, inputs, dev)
    with common.exact_math():
        ref = common.losses_of(name, model, inputs, samples)
        got = common.losses_of(name, model_dev, inputs_dev, samples)
        assert set(got) == set(ref)
        params = [(n, p) for n, p in model.named_parameters()
                  if p.requires_grad]
        params_dev = dict(model_dev.named_parameters())
        for key in ref:
            assert got[key].device.type == dev.type, key
            assert torch.isfinite(got[key]), key
            torch.testing.assert_close(
                got[key].detach().cpu(),
                ref[key].detach(),
                atol=1e-5,
                rtol=1e-4,
                msg=key)
            grads = torch.autograd.grad(
                ref[key], [p for _, p in params],
                retain_graph=True,
                allow_unused=True)
            grads_dev = torch.autograd.grad(
                got[key], [params_dev[n] for n, _ in params],
                retain_graph=True,
                allow_unused=True)
            for (pname, _), g, g_dev in zip(params, grads, grads_dev):
                _close_grads(g_dev, g, f'{key}: {pname}')
