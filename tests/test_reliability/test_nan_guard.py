# Copyright (c) densesiam_mm contributors. All rights reserved.
"""NaNGuardHook + NaNGuardOptimWrapper: a non-finite loss term never
reaches the weights."""
import logging
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS as PRETRAIN_HOOKS
from mmseg.registry import HOOKS as SEG_HOOKS
from torch import nn

from densesiam_mm.apis.runner import use_nan_guard_optim_wrapper
from densesiam_mm.engine.hooks import NaNGuardHook
from ..conftest import config_path

NAN_ITER = 5  # 1-based iteration whose batch holds a NaN
BATCH = 2


class ToyModel(BaseModel):
    """BN + linear; ``loss_fit`` sees the input, ``loss_decay`` does not."""

    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(4)
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, mode='loss'):
        out = self.linear(self.norm(inputs))
        return dict(
            loss_fit=(out - 1).pow(2).mean(),
            loss_decay=1e-3 * self.linear.weight.pow(2).sum())


def _dataset(num_iters):
    data = torch.linspace(-1, 1, num_iters * BATCH * 4).view(-1, 4)
    data[(NAN_ITER - 1) * BATCH, 2] = float('nan')
    return [dict(inputs=x) for x in data]


def _runner(tmp_path, hook, max_iters=6, wrapper='NaNGuardOptimWrapper'):
    torch.manual_seed(0)
    return Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        experiment_name=f'nan_guard_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=_dataset(max_iters),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=BATCH,
            num_workers=0),
        optim_wrapper=dict(
            type=wrapper, optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[hook],
        default_scope='mmpretrain')


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _records(runner):
    """Log records of ``runner.logger`` (a list filled while it runs)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    runner.logger.addHandler(handler)
    return records, handler


def test_raise_names_term_iteration_and_checkpoint(tmp_path):
    runner = _runner(tmp_path, NaNGuardHook(action='raise'))
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    message = str(err.value)
    ckpt = osp.join(str(tmp_path), f'iter_{NAN_ITER - 1}.pth')
    assert 'loss_fit' in message and 'loss_decay' not in message
    assert f'iteration {NAN_ITER};' in message
    assert ckpt in message
    # Neither the weights nor the BN statistics saw the NaN batch: the model
    # in memory is the one of the last good checkpoint.
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    state = _state(runner.model)
    for key, value in saved['state_dict'].items():
        assert torch.equal(state[key], value), key


def test_skip_goes_on_and_counts(tmp_path):
    hook = NaNGuardHook(action='skip', max_skips=2)
    runner = _runner(tmp_path, hook)
    records, handler = _records(runner)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    assert hook.num_skipped == 1
    warnings = [
        r.getMessage() for r in records
        if r.levelno == logging.WARNING and 'NaNGuardHook' in r.getMessage()
    ]
    assert len(warnings) == 1
    assert 'loss_fit' in warnings[0] and f'iteration {NAN_ITER};' in \
        warnings[0] and 'Skipped iteration 1 of at most 2' in warnings[0]
    assert runner.iter == 6
    for key, value in _state(runner.model).items():
        assert torch.isfinite(value.float()).all(), key


def test_skip_raises_past_max_skips(tmp_path):
    runner = _runner(tmp_path, NaNGuardHook(action='skip', max_skips=0))
    with pytest.raises(
            FloatingPointError, match=r'1 iterations skipped '
            r'\(max_skips=0\)'):
        runner.train()


def test_arguments_checked():
    with pytest.raises(ValueError, match='action'):
        NaNGuardHook(action='ignore')
    with pytest.raises(ValueError, match='max_skips'):
        NaNGuardHook(max_skips=-1)


def test_in_runtime_config_and_both_registries():
    cfg = Config.fromfile(
        config_path('densesiam', 'densesiam_resnet18_1xb8-coslr-60i_demo.py'))
    assert cfg.default_hooks.nan_guard == dict(
        type='NaNGuardHook', action='raise', max_skips=10)
    for registry in (PRETRAIN_HOOKS, SEG_HOOKS):
        hook = registry.build(dict(type='NaNGuardHook', action='skip'))
        assert isinstance(hook, NaNGuardHook) and hook.action == 'skip'


def test_advice_says_resume_keeps_the_checkpoints_lr(tmp_path):
    runner = _runner(tmp_path, NaNGuardHook(action='raise'))
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    message = str(err.value)
    ckpt = osp.join(str(tmp_path), f'iter_{NAN_ITER - 1}.pth')
    assert f'{ckpt}. Resume with `--resume` after clipping gradients' in \
        message
    # mmengine's resume loads the optimizer's param groups (lr) and the
    # schedulers' base values: a lower lr in the config is not applied.
    assert '`--resume` restores the learning rate from the checkpoint' in \
        message
    assert f'without `--resume` (`--cfg-options load_from={ckpt}`' in message
    assert 'Resume with `--resume` after lowering' not in message


def test_plain_optim_wrapper_is_named_and_still_stops(tmp_path):
    """A Runner built without the guarded wrapper: the hook says so at the
    start, and a NaN stops the run, saying the update WAS applied."""
    runner = _runner(
        tmp_path, NaNGuardHook(action='skip'), wrapper='OptimWrapper')
    records, handler = _records(runner)
    try:
        with pytest.raises(
                FloatingPointError,
                match='the update of this iteration WAS applied'):
            runner.train()
    finally:
        runner.logger.removeHandler(handler)
    warnings = [
        r.getMessage() for r in records if r.levelno == logging.WARNING
    ]
    assert any('NaNGuardHook: the optimizer wrapper (OptimWrapper) does not '
               "check the loss" in w and 'NaNGuardOptimWrapper' in w
               for w in warnings), warnings


@pytest.mark.parametrize('before,after', [
    (None, 'NaNGuardOptimWrapper'),
    ('OptimWrapper', 'NaNGuardOptimWrapper'),
    ('mmengine.OptimWrapper', 'NaNGuardOptimWrapper'),
    ('AmpOptimWrapper', 'NaNGuardAmpOptimWrapper'),
    ('NaNGuardOptimWrapper', 'NaNGuardOptimWrapper'),
    ('OptimWrapperDict', 'OptimWrapperDict'),
])
def test_build_runner_swaps_in_the_guarded_wrapper(before, after):
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
    if before is not None:
        optim_wrapper['type'] = before
    cfg = Config(
        dict(
            optim_wrapper=optim_wrapper,
            default_hooks=dict(nan_guard=dict(type='NaNGuardHook'))))
    note = use_nan_guard_optim_wrapper(cfg)
    assert cfg.optim_wrapper.type == after
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1)
    if before != after:
        assert note == (f'NaNGuardHook: optim_wrapper type '
                        f'{(before or "OptimWrapper").split(".")[-1]} -> '
                        f'{after} (the same wrapper, which skips the update '
                        'of a non-finite loss).')
    else:
        assert note is None


@pytest.mark.parametrize('hooks', [
    dict(default_hooks=dict(nan_guard=None)),
    dict(default_hooks=dict(logger=dict(type='LoggerHook'))),
    dict(),
])
def test_build_runner_keeps_the_wrapper_without_the_hook(hooks):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper'), **hooks))
    assert use_nan_guard_optim_wrapper(cfg) is None
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_build_runner_finds_the_hook_in_custom_hooks():
    cfg = Config(
        dict(
            optim_wrapper=dict(type='AmpOptimWrapper'),
            custom_hooks=[dict(type='mmpretrain.NaNGuardHook')]))
    assert use_nan_guard_optim_wrapper(cfg)
    assert cfg.optim_wrapper.type == 'NaNGuardAmpOptimWrapper'
