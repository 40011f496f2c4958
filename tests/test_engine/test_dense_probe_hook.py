# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseProbeHook: probe curves that leave the training run unchanged."""
import csv
import glob
import json
import os.path as osp
import random
from types import SimpleNamespace
from unittest.mock import MagicMock

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from torch import nn

from densesiam_mm.apis import build_runner
from densesiam_mm.engine.hooks import DenseProbeHook
from ..conftest import shared_path
from ..test_evaluation.test_dense_probe import LabelBackbone, write_blocks
from ..test_reliability._utils import make_images, write_tiny_config

# the synthetic split, scored at its own size with raw pixels
SYNTHETIC = dict(
    input_size=(64, 48),
    stages=(0, ),
    fit_select=None,
    eval_select=None,
    linear_iters=60,
    linear_batch_size=4,
    batch_size=4,
    loss_label_stride=1,
    mean=(0, 0, 0),
    std=(1, 1, 1),
    bgr_to_rgb=False)


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


class Toy(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = LabelBackbone()


def fake_runner(work_dir, iteration=0):
    return SimpleNamespace(
        model=Toy(),
        work_dir=str(work_dir),
        iter=iteration,
        max_iters=4,
        message_hub=MessageHub.get_instance(f'dense_probe_{id(work_dir)}'),
        visualizer=MagicMock(),
        logger=MagicMock())


def run_to_the_end(hook, runner, max_iters=4):
    hook.before_train(runner)
    for it in range(runner.iter, max_iters):
        runner.iter = it
        hook.after_train_iter(runner, it)
    runner.iter = max_iters
    hook.after_train(runner)


def test_label_features_logged_as_100(tmp_path):
    data = write_blocks(tmp_path / 'data')
    hook = DenseProbeHook(
        interval=2, fit_dataset=data, eval_dataset=data, **SYNTHETIC)
    runner = fake_runner(tmp_path)
    states = (random.getstate(), np.random.get_state()[1].copy(),
              torch.get_rng_state())
    run_to_the_end(hook, runner)
    # RNG states as they were (the probe seeds its own)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])

    rows = read_csv(tmp_path / 'dense_probe.csv')
    assert [int(r['iter']) for r in rows] == [0, 2, 4]  # start, 2, end
    assert list(rows[0]) == hook.columns()
    for row in rows:
        assert float(row['kmeans_miou']) == 100.0
        assert float(row['linear_miou']) >= 95
        assert float(row['seconds']) > 0
    hub = runner.message_hub
    assert hub.get_scalar('dense_probe/kmeans_miou').current() == 100.0
    assert hub.get_scalar('dense_probe/linear_miou').current() >= 95
    assert hub.get_scalar('dense_probe/seconds').current() > 0
    steps = [
        c.kwargs['step'] for c in runner.visualizer.add_scalars.mock_calls
    ]
    assert steps == [0, 2, 4]
    scalars = runner.visualizer.add_scalars.mock_calls[0].args[0]
    assert {
        'dense_probe/kmeans_miou', 'dense_probe/linear_miou',
        'dense_probe/seconds'
    } <= set(scalars)
    line = runner.logger.info.mock_calls[-1].args[0]
    assert line.startswith('DenseProbeHook: iter 4: k-means (k=3) mIoU '
                           '100.00, linear mIoU')
    assert '% of' in line

    # a resumed run: no probe at its start, rows appended, one header
    resumed = DenseProbeHook(
        interval=2, fit_dataset=data, eval_dataset=data, **SYNTHETIC)
    runner = fake_runner(tmp_path, iteration=4)
    run_to_the_end(resumed, runner, max_iters=6)
    assert [int(r['iter'])
            for r in read_csv(tmp_path / 'dense_probe.csv')] == [0, 2, 4, 6]

    other = DenseProbeHook(
        fit_dataset=data, eval_dataset=data, probes=('kmeans', ), **SYNTHETIC)
    with pytest.raises(ValueError, match='dense_probe.csv has the columns'):
        other.before_train(fake_runner(tmp_path))


def test_bad_settings(tmp_path):
    with pytest.raises(ValueError, match='interval'):
        DenseProbeHook(interval=0)
    with pytest.raises(ValueError, match='csv_file'):
        DenseProbeHook(csv_file='logs/probe.csv')
    data = write_blocks(tmp_path / 'data')
    hook = DenseProbeHook(
        backbone='encoder', fit_dataset=data, eval_dataset=data, **SYNTHETIC)
    with pytest.raises(AttributeError, match='has no `encoder`'):
        hook.before_train(fake_runner(tmp_path))


def tiny_demo_runner(tmp_path, name, max_iters, hooks=()):
    """The demo config at 64 px, batch 4, no workers, no checkpoint."""
    images = make_images(tmp_path / 'images', size=64, num=6)
    path = write_tiny_config(
        tmp_path / f'{name}.py', images, max_iters=max_iters, interval=100)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = name
    cfg.launcher = 'none'
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h['type'] != 'LossRecorderHook'
    ] + list(hooks)
    return build_runner(cfg)


def test_training_bit_identical_with_the_hook(tmp_path):
    data = write_blocks(tmp_path / 'data')
    probe = dict(
        SYNTHETIC,
        stages=(1, 3),
        linear_iters=10,
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375))
    hook = dict(
        type='DenseProbeHook',
        interval=2,
        fit_dataset=data,
        eval_dataset=data,
        **probe)
    plain = tiny_demo_runner(tmp_path, 'plain', 4)
    plain.train()
    probed = tiny_demo_runner(tmp_path, 'probed', 4, [hook])
    probed.train()
    expected = plain.model.state_dict()
    weights = probed.model.state_dict()
    assert list(weights) == list(expected)
    for key, value in weights.items():
        assert torch.equal(value, expected[key]), key
    rows = read_csv(tmp_path / 'probed' / 'dense_probe.csv')
    assert [int(r['iter']) for r in rows] == [0, 2, 4]
    assert all(0 <= float(r['linear_miou']) <= 100 for r in rows)
    # the visualizer's backends got the curves, one point per probe
    (scalars, ) = glob.glob(
        str(tmp_path / 'probed' / '*' / 'vis_data' / 'scalars.json'))
    with open(scalars) as f:
        points = [json.loads(line) for line in f]
    probes = [p for p in points if 'dense_probe/linear_miou' in p]
    assert [p['step'] for p in probes] == [0, 2, 4]


def test_cost_logged_on_the_demo_config(tmp_path):
    """The default probe (CamVid train -> val, 64 / 32 frames at 160x120)
    on the demo config: its seconds are logged."""
    shared_path('camvid', 'images', 'val')
    runner = tiny_demo_runner(
        tmp_path, 'cost', 2,
        [dict(type='DenseProbeHook', interval=2, probe_at_start=False)])
    runner.train()
    seconds = runner.message_hub.get_scalar('dense_probe/seconds').current()
    assert 0 < seconds < 120
    (row, ) = read_csv(tmp_path / 'cost' / 'dense_probe.csv')
    assert int(row['iter']) == 2 and float(row['seconds']) == seconds
    (log, ) = glob.glob(str(tmp_path / 'cost' / '*' / '*.log'))
    with open(log) as f:
        text = f.read()
    assert 'DenseProbeHook: iter 2: k-means (k=11) mIoU' in text
    assert '(64 fit / 32 eval frames,' in text
    assert osp.getsize(tmp_path / 'cost' / 'dense_probe.csv') > 0
