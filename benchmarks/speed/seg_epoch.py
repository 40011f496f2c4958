# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Unsupervised-segmentation epoch time: DenseSiam-Seg vs PiCIE.

Both run through mmengine's Runner from the CamVid configs
``configs/unsup_seg/{densesiam-seg,picie}_resnet18-fpn_1xb8-3e_camvid.py``
for one epoch on the same subset of the train frames, with their hooks, so
PiCIE's k-means clustering before the epoch (a pass over the same frames) is
included. Validation and checkpoints are switched off; everything else is
the configs' own. The time is that of the epoch itself (clustering, data
loading and iterations), not of building the runner. Epochs are interleaved
(DenseSiam-Seg, PiCIE, PiCIE, DenseSiam-Seg, ...).
"""
import copy
import logging
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from .models import REPO_ROOT

SEG_CONFIGS = dict(
    densesiam_seg='densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py',
    picie='picie_resnet18-fpn_1xb8-3e_camvid.py')


def _epoch_cfg(name: str, num_images: int, work_dir: str) -> Config:
    path = osp.join(REPO_ROOT, 'configs', 'unsup_seg', SEG_CONFIGS[name])
    if not osp.exists(path):
        raise FileNotFoundError(path)
    cfg = Config.fromfile(path)
    cfg.work_dir = osp.join(work_dir, name)
    cfg.train_dataloader.dataset.indices = num_images
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1,
                         val_interval=10**6)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**6)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


class _EpochTimer(Hook):
    """Wall time from the first ``before_train_epoch`` hook (so PiCIE's
    clustering is inside) to the first ``after_train_epoch`` hook."""
    priority = 'HIGHEST'

    def before_train_epoch(self, runner) -> None:
        self.start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        self.seconds = time.perf_counter() - self.start


def _run_epoch(cfg: Config) -> float:
    from mmengine.runner import Runner
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    timer = _EpochTimer()
    runner.register_hook(timer, priority='HIGHEST')
    runner.train()
    seconds = timer.seconds
    for handler in list(MMLogger.get_current_instance().handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
    return seconds


def seg_epoch_times(num_images: int = 64, rounds: int = 2) -> Dict[str, Dict]:
    """Seconds per epoch of ``num_images`` train frames for both methods.

    Raises ``FileNotFoundError``/``KeyError`` when the segmentation configs
    or models are not available (the caller reports the row as pending).
    """
    with tempfile.TemporaryDirectory() as work_dir:
        cfgs = {
            name: _epoch_cfg(name, num_images, work_dir)
            for name in SEG_CONFIGS
        }
        warm = {
            name: _epoch_cfg(name, 8, osp.join(work_dir, 'warm'))
            for name in SEG_CONFIGS
        }
        for cfg in warm.values():
            _run_epoch(cfg)
        names = list(cfgs)
        times = {name: [] for name in names}
        for round_idx in range(rounds):
            order = names if round_idx % 2 == 0 else names[::-1]
            for name in order:
                times[name].append(_run_epoch(cfgs[name]))
    return {
        name: dict(seconds=statistics.median(values), runs=values,
                   images=num_images)
        for name, values in times.items()
    }
