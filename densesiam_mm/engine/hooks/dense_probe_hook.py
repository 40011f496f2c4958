# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Probe the dense features of the backbone while it trains."""
import csv
import io
import os
import os.path as osp
import random
import time
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...evaluation.dense_probe import DenseProbe

#: the training-time defaults: a few seconds a probe on CPU (ResNet-18)
FAST_PROBE = dict(
    input_size=(160, 120),
    fit_select=64,
    eval_select=32,
    linear_iters=100,
    label_size='input')


def _rng_state() -> dict:
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state:
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class DenseProbeHook(Hook):
    """Frozen dense probes of the training backbone, as curves.

    Every ``interval`` training iterations, at the end of training and, with
    ``probe_at_start``, before the first iteration, the backbone's frozen
    features are scored by :class:`~densesiam_mm.evaluation.DenseProbe`
    (k-means + Hungarian mIoU, and a linear probe trained on cached
    features). The results are

    - logged (one line) and put in the message hub as
      ``dense_probe/<key>`` (e.g. ``dense_probe/kmeans_miou``,
      ``dense_probe/linear_miou``, ``dense_probe/seconds``);
    - sent to the visualizer's backends with ``step`` = the iteration
      (``add_scalars``), so a ``TensorboardVisBackend`` or
      ``WandbVisBackend`` in ``visualizer.vis_backends`` draws the curves;
    - appended as a row to ``<work_dir>/<csv_file>`` (header once; a
      resumed run appends to the same file, and refuses a file whose header
      names other columns).

    The training run is not changed: the probe runs on rank 0 only (the
    other ranks wait at a barrier), under ``torch.no_grad()`` with the
    backbone in eval mode (BN statistics untouched), after which every
    submodule gets its previous train/eval flag back; the python, numpy,
    torch and CUDA RNG states are saved before and restored after; no
    gradient, parameter, buffer or optimizer state is touched.

    Args:
        interval (int): probe every this many iterations. Defaults to 100.
        probe_at_start (bool): probe before iteration 1 (the initial
            weights; not when a run is resumed). Defaults to True.
        probe_at_end (bool): probe after the last iteration (if it is not a
            multiple of ``interval``). Defaults to True.
        backbone (str): attribute path of the probed module in the
            (unwrapped) model. Defaults to ``'backbone'``.
        csv_file (str): file name in the work dir. Defaults to
            ``'dense_probe.csv'``.
        **probe_kwargs: :class:`DenseProbe` arguments (datasets, stages,
            input size, ...). Defaults to CamVid train -> val at 160x120,
            64 fit / 32 eval frames, C5, 100 linear steps, scored at input
            size (``FAST_PROBE``).
    """
    priority = 'LOW'  # after the optimizer step and the schedulers

    def __init__(self,
                 interval: int = 100,
                 probe_at_start: bool = True,
                 probe_at_end: bool = True,
                 backbone: str = 'backbone',
                 csv_file: str = 'dense_probe.csv',
                 **probe_kwargs) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) \
                or interval < 1:
            raise ValueError('DenseProbeHook: `interval` must be an int >= 1,'
                             f' got {interval!r}.')
        if not csv_file or osp.basename(csv_file) != csv_file:
            raise ValueError('DenseProbeHook: `csv_file` is a file name in '
                             f'the work dir, got {csv_file!r}.')
        self.interval = interval
        self.probe_at_start = probe_at_start
        self.probe_at_end = probe_at_end
        self.backbone = backbone
        self.csv_file = csv_file
        self.probe = DenseProbe(**{**FAST_PROBE, **probe_kwargs})
        self.last_step: Optional[int] = None
        self.history: List[Dict[str, float]] = []
        self.probe_seconds = 0.
        self._start = None

    # ------------------------------------------------------------------
    def _module(self, runner) -> torch.nn.Module:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        module = model
        for name in self.backbone.split('.'):
            if not hasattr(module, name):
                raise AttributeError(
                    f'DenseProbeHook: {type(model).__name__} has no '
                    f'`{self.backbone}` (set the hook\'s `backbone` to the '
                    'attribute path of the module to probe).')
            module = getattr(module, name)
        return module

    def columns(self) -> List[str]:
        return ['iter'] + self.probe.result_keys() + ['train_seconds']

    def csv_path(self, runner) -> str:
        return osp.join(runner.work_dir, self.csv_file)

    def _check_csv(self, runner) -> None:
        path = self.csv_path(runner)
        if not osp.isfile(path) or osp.getsize(path) == 0:
            return
        with open(path, newline='') as f:
            header = next(csv.reader(f), [])
        if header != self.columns():
            raise ValueError(
                f'DenseProbeHook: {path} has the columns {header}, this '
                f'probe writes {self.columns()}; move the file away or set '
                'the hook\'s `csv_file` to another name.')

    def _append_csv(self, runner, row: dict) -> None:
        path = self.csv_path(runner)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if not osp.isfile(path) or osp.getsize(path) == 0:
            writer.writerow(self.columns())
        writer.writerow([row.get(c, '') for c in self.columns()])
        # one write of whole lines, flushed to disk: a crash leaves the
        # file with complete rows only
        with open(path, 'a', newline='') as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())

    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        if dist.is_main_process():
            self.probe.prepare()  # data errors before any training
            self._check_csv(runner)
        dist.barrier()
        if self.probe_at_start and runner.iter == 0:
            self._probe(runner, 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._probe(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if self.probe_at_end and self.last_step != runner.iter:
            self._probe(runner, runner.iter)

    def _probe(self, runner, step: int) -> Optional[Dict[str, float]]:
        self.last_step = step
        if self._start is None:  # not started by before_train
            self._start = time.perf_counter()
        result = None
        if dist.is_main_process():
            module = self._module(runner)
            state = _rng_state()
            try:
                result = self.probe.evaluate(module)
            finally:
                _set_rng_state(state)
            self._report(runner, step, result)
        dist.barrier()
        return result

    def _report(self, runner, step: int, result: dict) -> None:
        self.probe_seconds += result['seconds']
        train_seconds = time.perf_counter() - self._start
        row = dict(iter=step, train_seconds=round(train_seconds, 1))
        row.update({k: result[k] for k in self.probe.result_keys()})
        self.history.append(row)
        scalars = {
            f'dense_probe/{k}': float(v)
            for k, v in row.items() if k not in ('iter', 'train_seconds')
        }
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(scalars, step=step)
        self._append_csv(runner, row)
        parts = []
        if 'kmeans_miou' in result:
            k = self.probe.cluster_counts()[0]
            parts.append(f'k-means (k={k}) mIoU {result["kmeans_miou"]:.2f}')
        if 'linear_miou' in result:
            parts.append(f'linear mIoU {result["linear_miou"]:.2f}')
        share = 100 * self.probe_seconds / max(train_seconds, 1e-9)
        runner.logger.info(
            f'DenseProbeHook: iter {step}: ' + ', '.join(parts) +
            f' ({result["num_fit"]} fit / {result["num_eval"]} eval frames, '
            f'{result["seconds"]:.1f} s; probes so far '
            f'{self.probe_seconds:.1f} s = {share:.1f} % of '
            f'{train_seconds:.0f} s)')
