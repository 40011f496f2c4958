# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Data pipeline throughput: two views with geometry vs SimSiam's two views.

Both pipelines come from configs: mmpretrain's SimSiam/MoCo v2 pipeline
(``mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py``) and the project's
(``configs/_base_/datasets/imagenet_bs32_densesiam.py``), 224 px views, run
in this process (``num_workers=0``, i.e. images/s of one worker) on the same
real images. Before each chunk both pipelines get the same ``random`` and
``numpy`` seeds, so they draw the same crops, flips and colour changes.
"""
import os
import os.path as osp
import random
import time
from typing import Dict, List

import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import DefaultScope

import densesiam_mm  # noqa: F401  (registers the geometry transforms)
from .models import REPO_ROOT

PIPELINES = ('simsiam', 'densesiam')


def _mmpretrain_config(name: str) -> str:
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', name)


def pipeline_cfgs() -> Dict[str, list]:
    """Train pipelines (lists of transform dicts) of both methods."""
    simsiam = Config.fromfile(
        _mmpretrain_config('_base_/datasets/imagenet_bs32_mocov2.py'))
    densesiam = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                 'imagenet_bs32_densesiam.py'))
    return dict(
        simsiam=simsiam.train_pipeline, densesiam=densesiam.train_pipeline)


def build_pipelines() -> Dict[str, Compose]:
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return {name: Compose(cfg) for name, cfg in pipeline_cfgs().items()}


def image_files(folder: str, num_images: int) -> List[str]:
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'image folder not found: {folder} (set DENSESIAM_SHARED_DATA to '
            'the folder of ../shared/data/README.md)')
    names = sorted(
        n for n in os.listdir(folder)
        if n.lower().endswith(('.jpg', '.jpeg', '.png')))
    if not names:
        raise FileNotFoundError(f'no images in {folder}')
    return [osp.join(folder, n) for n in names[:num_images]]


def _run_chunk(pipeline: Compose, files: List[str], seed: int) -> float:
    random.seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    for path in files:
        out = pipeline(dict(img_path=path))
        assert out is not None and len(out['inputs']) == 2
    return time.perf_counter() - start


def pipeline_throughput(folder: str,
                        num_images: int = 32,
                        rounds: int = 4,
                        warmup_images: int = 4) -> Dict[str, Dict]:
    """Images/s of each pipeline, interleaved chunk by chunk.

    Each round runs every pipeline over the same ``num_images`` images
    (alternating which goes first). Returns, per pipeline, ``images_per_s``
    (median over rounds) and the per-round values.
    """
    pipelines = build_pipelines()
    files = image_files(folder, num_images)
    for pipeline in pipelines.values():
        _run_chunk(pipeline, files[:warmup_images], seed=0)
    rates = {name: [] for name in pipelines}
    names = list(pipelines)
    for round_idx in range(rounds):
        order = names if round_idx % 2 == 0 else names[::-1]
        for name in order:
            seconds = _run_chunk(pipelines[name], files, seed=round_idx)
            rates[name].append(len(files) / seconds)
    return {
        name: dict(images_per_s=float(np.median(values)), runs=values)
        for name, values in rates.items()
    }
