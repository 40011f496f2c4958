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

For PiCIE two more figures are recorded: the part of the epoch spent in
``KMeansClusteringHook.cluster`` and, after the epoch, one *single-view*
pass over the same frames (data loading + eval-mode features of view 1, no
gradient). PiCIE as published runs four such passes before every epoch
(k-means on view 1, on view 2, then the label assignment of each view,
written to files). The CamVid PiCIE config now follows that recipe (every
pixel clustered, labels fixed for the epoch); ``picie-online_*`` keeps the
earlier single-pass variant with online labels. ``run.py`` composes the
published per-epoch work from these measured parts.
"""
import copy
import logging
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from .models import REPO_ROOT

SEG_CONFIGS = dict(
    densesiam_seg='densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py',
    picie='picie_resnet18-fpn_1xb8-3e_camvid.py')


def _epoch_cfg(name: str,
               num_images: int,
               work_dir: str,
               view_size: Optional[int] = None,
               num_workers: Optional[int] = None) -> Config:
    path = osp.join(REPO_ROOT, 'configs', 'unsup_seg', SEG_CONFIGS[name])
    if not osp.exists(path):
        raise FileNotFoundError(path)
    cfg = Config.fromfile(path)
    cfg.work_dir = osp.join(work_dir, name)
    cfg.train_dataloader.dataset.indices = num_images
    if view_size:  # the square the views are cut from is twice the view
        for transform in cfg.train_dataloader.dataset.pipeline:
            if transform['type'] == 'ResizeCenterCrop':
                transform['size'] = 2 * view_size
            elif transform['type'] == 'NestedCropViews':
                transform['view_size'] = view_size
    if num_workers is not None:
        cfg.train_dataloader.num_workers = num_workers
        cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=1, val_interval=10**6)
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


def _time_clustering(runner) -> List[float]:
    """Wrap the runner's ``KMeansClusteringHook.cluster`` to time it."""
    from densesiam_mm.engine.hooks import KMeansClusteringHook
    seconds = []
    for hook in runner.hooks:
        if isinstance(hook, KMeansClusteringHook):
            cluster = hook.cluster

            def timed(runner, cluster=cluster):
                start = time.perf_counter()
                cluster(runner)
                seconds.append(time.perf_counter() - start)

            hook.cluster = timed
    return seconds


@torch.no_grad()
def _single_view_pass(runner) -> float:
    """Seconds of one eval-mode, no-gradient pass of view 1 over the train
    dataloader (data loading included): one of PiCIE's published passes."""
    model = runner.model
    model.eval()
    start = time.perf_counter()
    for data in runner.train_dataloader:
        view = model.data_preprocessor(data, False)['inputs'][0]
        model.normalized_feat(view)
    seconds = time.perf_counter() - start
    model.train()
    return seconds


def _run_epoch(cfg: Config, view_pass: bool = False) -> Dict[str, float]:
    from mmengine.runner import Runner
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    timer = _EpochTimer()
    runner.register_hook(timer, priority='HIGHEST')
    clustering = _time_clustering(runner)
    runner.train()
    result = dict(seconds=timer.seconds, clustering=sum(clustering))
    if view_pass:
        result['view_pass'] = _single_view_pass(runner)
    # the work dir is temporary: detach its log file from the logger, which
    # mmengine keeps as the current instance after the run
    logger = MMLogger.get_current_instance()
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            logger.removeHandler(handler)
    return result


def seg_epoch_times(num_images: int = 64,
                    rounds: int = 2,
                    view_size: Optional[int] = None,
                    num_workers: Optional[int] = None) -> Dict[str, Dict]:
    """Seconds per epoch of ``num_images`` train frames for both methods.

    ``view_size`` (default: the configs' 96 px) sets the views' size (the
    image they are cut from is twice as large), ``num_workers`` the
    dataloader's workers (default: the configs' 0).

    Returns ``{name: dict(seconds, runs, images, clustering[, view_pass])}``
    with medians over the rounds; ``clustering`` is the time spent in
    k-means clustering hooks (0 for DenseSiam-Seg), ``view_pass`` (PiCIE
    only) that of one single-view feature pass over the same frames.

    Raises ``FileNotFoundError``/``KeyError`` when the segmentation configs
    or models are not available (the caller reports the row as pending).
    """
    with tempfile.TemporaryDirectory() as work_dir:
        cfgs = {
            name: _epoch_cfg(name, num_images, work_dir, view_size,
                             num_workers)
            for name in SEG_CONFIGS
        }
        warm = {
            name:
            _epoch_cfg(name, min(8, num_images), osp.join(work_dir, 'warm'),
                       view_size, num_workers)
            for name in SEG_CONFIGS
        }
        for cfg in warm.values():
            _run_epoch(cfg)
        names = list(cfgs)
        times = {name: [] for name in names}
        for round_idx in range(rounds):
            order = names if round_idx % 2 == 0 else names[::-1]
            for name in order:
                times[name].append(
                    _run_epoch(cfgs[name], view_pass=name == 'picie'))
    summary = {}
    for name, results in times.items():
        runs = [r['seconds'] for r in results]
        summary[name] = dict(
            seconds=statistics.median(runs),
            runs=runs,
            images=num_images,
            **{
                key: statistics.median(r[key] for r in results)
                for key in ('clustering', 'view_pass') if key in results[0]
            })
    return summary
