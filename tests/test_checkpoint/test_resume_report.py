# Copyright (c) densesiam_mm contributors. All rights reserved.
"""What ``--resume`` keeps, said before training (issue 18, item 6): the
comparison of a config with the run that wrote a checkpoint."""
import os.path as osp

import torch
from mmengine.config import Config

from densesiam_mm.checkpoint.resume import (report_resume_differences,
                                            resume_differences,
                                            saved_config_values)

SAVED = '''
optim_wrapper = dict(
    optimizer=dict(lr=0.05, momentum=0.9, type='SGD', weight_decay=0.0001),
    type='OptimWrapper')
train_cfg = dict(max_iters=60, type='IterBasedTrainLoop')
train_dataloader = dict(batch_size=8, num_workers=0)
'''


def _cfg(lr=0.05, batch_size=8, max_iters=60, **extra):
    return Config(
        dict(
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
            train_dataloader=dict(batch_size=batch_size),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
            **extra))


def _checkpoint(cfg_text=SAVED, lr=0.042, initial_lr=0.05):
    return dict(
        meta=dict(cfg=cfg_text, iter=10),
        optimizer=dict(
            state={},
            param_groups=[dict(lr=lr, initial_lr=initial_lr, params=[0])]))


def test_same_config_says_nothing():
    assert resume_differences(_cfg(), _checkpoint()) == []


def test_each_difference_is_named_with_both_values():
    lines = resume_differences(
        _cfg(lr=1e-5, batch_size=4, max_iters=100), _checkpoint())
    assert len(lines) == 3, lines
    lr, batch, iters = lines
    assert lr.startswith('optim_wrapper.optimizer.lr: the config says 1e-05,'
                         ' the checkpoint was trained with 0.05 -- NOT '
                         'applied: --resume restores the optimizer (lr now '
                         '0.042)'), lr
    assert batch.startswith('train_dataloader.batch_size: the config says 4,'
                            ' the checkpoint was trained with 8'), batch
    assert iters.startswith('train_cfg.max_iters: the config says 100, the '
                            'checkpoint was trained with 60'), iters


def test_without_saved_config_the_optimizer_lr_is_compared():
    lines = resume_differences(_cfg(lr=1e-5), _checkpoint(cfg_text=None))
    assert len(lines) == 1
    assert "the config says 1e-05, the checkpoint's optimizer started at " \
        '0.05' in lines[0]
    assert resume_differences(_cfg(), _checkpoint(cfg_text=None)) == []


def test_saved_config_is_parsed_not_executed(tmp_path):
    marker = str(tmp_path / 'marker')
    text = (f'x = open({marker!r}, "w")\n'
            f'y = __import__("os").system("touch {marker}")\n' + SAVED)
    values = saved_config_values(text)
    assert not osp.exists(marker)
    assert values['optim_wrapper']['optimizer']['lr'] == 0.05
    assert saved_config_values('this is not python(') == {}


def test_report_warns_once_for_a_resumed_file(tmp_path):
    path = str(tmp_path / 'iter_10.pth')
    torch.save(_checkpoint(), path)
    messages = []
    cfg = _cfg(lr=1e-5, resume=True, load_from=path)
    lines = report_resume_differences(
        cfg, torch.load(path, weights_only=False), warn=messages.append)
    assert len(lines) == 1 and len(messages) == 1
    assert messages[0].startswith(f'--resume from {path}: the config '
                                  'differs from the run that wrote the '
                                  'checkpoint')
    assert f'`--cfg-options load_from={path}`' in messages[0]
    # load_from without --resume loads weights only: nothing to report
    cfg = _cfg(lr=1e-5, resume=False, load_from=path)
    assert report_resume_differences(
        cfg, torch.load(path, weights_only=False), warn=messages.append) == []
    assert len(messages) == 1
