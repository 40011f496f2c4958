# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Logging where users look: ``tools/train.py --vis-backends tensorboard
wandb`` adds mmengine's TensorBoard / Weights & Biases backends to the
config's visualizer (its ``LocalVisBackend`` and scalars.json stay), and a
short run writes TensorBoard event files with the losses."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT, config_path, load_script

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
DEMO = config_path('densesiam', 'densesiam_resnet18_1xb8-coslr-60i_demo.py')


def test_vis_backends_switch_adds_backends(monkeypatch):
    from mmengine.config import Config
    tool = load_script(TRAIN)
    monkeypatch.setattr(
        sys, 'argv',
        ['train.py', DEMO, '--vis-backends', 'tensorboard', 'wandb'])
    cfg = tool.merge_args(Config.fromfile(DEMO), tool.parse_args())
    types = [b['type'] for b in cfg.visualizer.vis_backends]
    assert types == [
        'LocalVisBackend', 'TensorboardVisBackend', 'WandbVisBackend'
    ]
    assert cfg.visualizer.type == 'UniversalVisualizer'  # kept
    # without the switch the config is unchanged
    monkeypatch.setattr(sys, 'argv', ['train.py', DEMO])
    cfg = tool.merge_args(Config.fromfile(DEMO), tool.parse_args())
    assert [b['type'] for b in cfg.visualizer.vis_backends] == \
        ['LocalVisBackend']


def test_tensorboard_backend_writes_event_files(tmp_path):
    try:
        from tensorboard.backend.event_processing.event_accumulator import \
            EventAccumulator
    except ImportError:
        pytest.skip('tensorboard is not installed; it comes with '
                    'requirements/tests.txt (pip install -r '
                    'requirements/tests.txt)')
    work_dir = str(tmp_path / 'work')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run([
        sys.executable, TRAIN, DEMO, '--work-dir', work_dir, '--vis-backends',
        'tensorboard', '--cfg-options', 'train_cfg.max_iters=2',
        'param_scheduler.0.T_max=2', 'param_scheduler.0.end=2',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.scale=64'
    ],
                          cwd=REPO_ROOT,
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    events = glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1, os.listdir(work_dir)
    acc = EventAccumulator(osp.dirname(events[0]))
    acc.Reload()
    scalars = acc.Tags()['scalars']
    for tag in ('loss', 'loss_global', 'loss_dense', 'lr'):
        assert tag in scalars, scalars
    assert [e.step for e in acc.Scalars('loss')] == [1, 2]
    # the local backend still writes scalars.json (plots, collectors)
    assert glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
