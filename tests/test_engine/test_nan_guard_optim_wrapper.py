# Copyright (c) densesiam_mm contributors. All rights reserved.
"""NaNGuardOptimWrapper: the update of a non-finite loss is skipped."""
import warnings

import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, DefaultScope
from mmpretrain.registry import OPTIM_WRAPPERS as PRETRAIN_OPTIM_WRAPPERS
from mmseg.registry import OPTIM_WRAPPERS as SEG_OPTIM_WRAPPERS
from torch import nn

from densesiam_mm.engine.optimizers import (NaNGuardAmpOptimWrapper,
                                            NaNGuardOptimWrapper)


def _wrapper(**kwargs):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, NaNGuardOptimWrapper(optimizer=optimizer, **kwargs)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_non_finite_loss_skips_the_update():
    model, wrapper = _wrapper()
    before = _params(model)
    # a gradient left from an earlier backward is dropped too
    model(torch.ones(1, 3)).sum().backward()
    for bad in (float('nan'), float('inf'), -float('inf')):
        loss = model(torch.ones(2, 3)).sum() * bad
        assert wrapper.update_params(loss) is None
        assert wrapper.last_update_skipped
    assert wrapper.skipped_updates == 3
    for p, q in zip(before, model.parameters()):
        assert torch.equal(p, q)
        assert q.grad is None or not q.grad.any()


def test_finite_loss_is_mmengines_update():
    model, wrapper = _wrapper()
    reference = nn.Linear(3, 1)
    reference.load_state_dict(model.state_dict())
    plain = OptimWrapper(torch.optim.SGD(reference.parameters(), lr=0.1))
    x = torch.arange(6.).view(2, 3)
    wrapper.update_params(model(x).pow(2).mean())
    plain.update_params(reference(x).pow(2).mean())
    assert not wrapper.last_update_skipped and wrapper.skipped_updates == 0
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(_params(model)[0], _wrapper()[0].weight)


def test_a_loss_tensor_with_one_nan_element_is_skipped():
    model, wrapper = _wrapper()
    loss = torch.stack(
        [model(torch.ones(1, 3)).sum(),
         torch.tensor(float('nan'))])
    wrapper.update_params(loss)
    assert wrapper.skipped_updates == 1


def test_same_arguments_as_mmengines_wrappers():
    model, wrapper = _wrapper(
        clip_grad=dict(max_norm=1.0), accumulative_counts=2)
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)
    assert issubclass(NaNGuardOptimWrapper, OptimWrapper)
    assert issubclass(NaNGuardAmpOptimWrapper, AmpOptimWrapper)


@pytest.mark.parametrize('scope,registry',
                         [(None, OPTIM_WRAPPERS),
                          ('mmpretrain', PRETRAIN_OPTIM_WRAPPERS),
                          ('mmseg', SEG_OPTIM_WRAPPERS)])
def test_registered_for_every_scope(scope, registry):
    model = nn.Linear(3, 1)
    cfg = dict(
        type='NaNGuardOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    if scope is None:
        wrapper = registry.build(cfg)
    else:
        with DefaultScope.overwrite_default_scope(scope):
            wrapper = registry.build(cfg)
    assert type(wrapper) is NaNGuardOptimWrapper
    assert registry.get('NaNGuardAmpOptimWrapper') is NaNGuardAmpOptimWrapper
    # mmengine's own names are untouched
    assert registry.get('OptimWrapper') is OptimWrapper
    assert registry.get('AmpOptimWrapper') is AmpOptimWrapper


def test_amp_wrapper_skips_too(monkeypatch):
    """AmpOptimWrapper needs an accelerator to be built; on CPU its
    GradScaler disables itself, which is enough to check the guard."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = nn.Linear(3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # GradScaler: CUDA not available
        wrapper = NaNGuardAmpOptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = _params(model)
    wrapper.update_params(model(torch.ones(2, 3)).sum() * float('nan'))
    assert wrapper.skipped_updates == 1
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
    wrapper.update_params(model(torch.ones(2, 3)).sum())
    assert wrapper.skipped_updates == 1 and not wrapper.last_update_skipped
    assert not torch.equal(before[0], model.weight)
