# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Shared pieces of the GPU suite's tests (``pytest -m cuda``).

The tests run on ``DENSESIAM_TEST_DEVICE`` (default ``cuda``) and compare
with the same computation on the CPU. Without CUDA they are skipped with
one message. ``benchmarks/gpu/run.sh --device cpu --quick`` sets
``DENSESIAM_TEST_DEVICE=cpu``: the same test functions then run with the
device equal to the CPU (the comparisons are trivially equal, but every
model, loss and step of the suite is exercised, so the suite cannot rot),
and the host-sync check is done by :class:`HostSyncGuard` instead of
``torch.cuda.set_sync_debug_mode('error')``.
"""
import contextlib
import copy
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from torch.utils._python_dispatch import TorchDispatchMode

import densesiam_mm  # noqa: F401
from tests.test_models.test_siameseim import small_cfg

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEVICE = os.environ.get('DENSESIAM_TEST_DEVICE', 'cuda')
SKIP_REASON = (
    'CUDA is not available: tests/test_cuda is the GPU suite (run it with '
    'benchmarks/gpu/run.sh on a GPU, or on the CPU with '
    'DENSESIAM_TEST_DEVICE=cpu)')
#: every module of the package: ``pytestmark = common.PYTESTMARK``
PYTESTMARK = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        torch.device(DEVICE).type == 'cuda' and not torch.cuda.is_available(),
        reason=SKIP_REASON)
]
ALGORITHMS = ('densesiam', 'densesiam_seg_dense', 'densesiam_seg_grid',
              'picie', 'siameseim')
_SEG_CONFIGS = dict(
    densesiam_seg_dense='densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py',
    densesiam_seg_grid='densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py',
    picie='picie_resnet18-fpn_1xb8-3e_camvid.py')


def device() -> torch.device:
    return torch.device(DEVICE)


@contextlib.contextmanager
def exact_math():
    """No TF32 in CUDA convolutions and matmuls (the comparisons with the
    CPU would otherwise see TF32's 10-bit mantissa, ~1e-3)."""
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved


# --------------------------------------------------------------- host syncs
#: aten ops that read a CUDA tensor back to the host (or need its values
#: to size their output), i.e. a device synchronisation on a GPU
SYNC_OPS = frozenset({
    'aten._local_scalar_dense.default',  # .item(), float(t), bool(t)
    'aten.is_nonzero.default',  # if t:
    'aten.equal.default',
    'aten.nonzero.default',
    'aten.masked_select.default',
    'aten._unique.default',
    'aten._unique2.default',
    'aten.unique_dim.default',
    'aten.unique_consecutive.default',
    'aten.repeat_interleave.Tensor',
    'aten.bincount.default',
})


class HostSyncGuard(TorchDispatchMode):
    """Raise on every op that would synchronise a GPU with the host.

    The CPU stand-in of ``torch.cuda.set_sync_debug_mode('error')``: ops of
    :data:`SYNC_OPS` and boolean-mask indexing (``x[mask]``, which runs a
    ``nonzero``) raise ``RuntimeError`` naming the op. On the CPU, host data
    and device tensors cannot be told apart: code that reads the data
    samples' host fields must do it with numpy (no torch op), as
    ``dense_correspondence_from_samples`` does; a blocking host-to-device
    copy cannot be seen here (CUDA's sync debug mode reports it).
    """

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        sync = name in SYNC_OPS
        if name.startswith(('aten.index.', 'aten.index_put')):
            indices = args[1] if len(args) > 1 else []
            sync = any(
                torch.is_tensor(i) and i.dtype in (torch.bool, torch.uint8)
                for i in indices or [])
            name = f'boolean-mask indexing ({name})'
        if sync:
            raise RuntimeError(f'host-device sync in the step: {name}')
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def no_host_sync(dev: torch.device):
    """Fail on host-device syncs: CUDA's sync debug mode ``'error'`` on a
    GPU, :class:`HostSyncGuard` on the CPU."""
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode('error')
        try:
            yield
        finally:
            torch.cuda.set_sync_debug_mode('default')
        torch.cuda.synchronize()
    else:
        with HostSyncGuard():
            yield


# ------------------------------------------------------- models and batches
def _nested_boxes(rng, batch_size: int) -> np.ndarray:
    """``(B, 2, 4)`` view 1 nested in view 2 (as NestedCropViews)."""
    boxes = []
    for _ in range(batch_size):
        side = rng.uniform(24, 48)
        x1, y1 = rng.uniform(0, 64 - side, size=2)
        boxes.append([[x1, y1, x1 + side, y1 + side], [0, 0, 64, 64]])
    return np.asarray(boxes, np.float32)


def _pretrain_samples(rng, batch_size: int, sample_cls) -> list:
    """Overlapping views, fields as numpy arrays (as PackInputs leaves
    them)."""
    samples = []
    for i in range(batch_size):
        x1, y1 = rng.uniform(0, 40, size=2)
        sample = sample_cls()
        sample.set_field(
            np.array([[x1, y1, x1 + 60, y1 + 60],
                      [x1 + 20, y1 + 10, x1 + 90, y1 + 80]], np.float32),
            'view_boxes')
        sample.set_field(np.array([i % 2 == 0, i % 3 == 0]), 'view_flips')
        samples.append(sample)
    return samples


def _views(batch_size: int, size: int, seed: int) -> List[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch_size, 3, size, size, generator=gen) for _ in range(2)
    ]


def _scope(name: str):
    scope = 'mmpretrain' if name in ('densesiam', 'siameseim') else 'mmseg'
    return DefaultScope.overwrite_default_scope(scope)


def _siameseim_cfg() -> dict:
    """tests/test_models' small SiameseIM at 64 px with a 2-layer head."""
    cfg = small_cfg()
    cfg['backbone']['img_size'] = 64
    cfg['head']['num_layers'] = 2
    return cfg


def build_case(name: str, seed: int = 0) -> Tuple[torch.nn.Module, list, list]:
    """A small CPU model of ``name`` (:data:`ALGORITHMS`) in train mode,
    with two views and data samples whose geometry is host (numpy) data.

    DenseSiam: the demo config, RegionSim on, 64 px, batch 2. DenseSiam-Seg
    (dense and grid alignment) and PiCIE (the paper recipe: stored labels,
    frozen centroid classifiers, epoch class weights): the CamVid configs,
    kernel contrast on, 64 px, batch 2. SiameseIM: a 2-block 32-wide ViT,
    64 px, patch 16, 10 of 16 patches masked, EMA target.
    """
    rng = np.random.default_rng(seed)
    MessageHub.get_current_instance().update_info('max_iters', 100)
    with _scope(name):
        if name == 'densesiam':
            from mmpretrain.registry import MODELS
            from mmpretrain.structures import DataSample
            cfg = Config.fromfile(
                osp.join(REPO_ROOT, 'configs', 'densesiam',
                         'densesiam_resnet18_1xb8-coslr-60i_demo.py'))
            model_cfg = copy.deepcopy(cfg.model)
            model_cfg.update(region_sim_enabled=True)
            torch.manual_seed(seed)
            model = MODELS.build(model_cfg)
            inputs = _views(2, 64, seed)
            samples = _pretrain_samples(rng, 2, DataSample)
        elif name == 'siameseim':
            from mmpretrain.registry import MODELS
            from mmpretrain.structures import DataSample

            from densesiam_mm.datasets.transforms import ExactCountBlockMask
            torch.manual_seed(seed)
            model = MODELS.build(_siameseim_cfg())
            model.init_weights()
            np.random.seed(seed)
            masker = ExactCountBlockMask(4, 10, min_num_patches=4)
            inputs = _views(4, 64, seed)
            samples = _pretrain_samples(rng, 4, DataSample)
            for sample in samples:
                sample.set_mask(masker({})['mask'])
        else:
            from mmseg.registry import MODELS
            from mmseg.structures import SegDataSample
            cfg = Config.fromfile(
                osp.join(REPO_ROOT, 'configs', 'unsup_seg',
                         _SEG_CONFIGS[name]))
            model_cfg = copy.deepcopy(cfg.model)
            model_cfg.backbone.init_cfg = None
            if name != 'picie':
                model_cfg.update(region_sim_enabled=True)
            torch.manual_seed(seed)
            model = MODELS.build(model_cfg)
            model.init_weights()
            inputs = _views(2, 64, seed)
            boxes = _nested_boxes(rng, 2)
            samples = []
            for i in range(2):
                sample = SegDataSample(metainfo=dict(sample_idx=10 + i))
                sample.set_field(boxes[i], 'view_boxes')
                sample.set_field(np.array([i == 0, False]), 'view_flips')
                samples.append(sample)
            if name == 'picie':
                _prepare_picie(model, inputs, seed)
    model.train()
    return model, inputs, samples


def _prepare_picie(model, inputs, seed: int) -> None:
    """What KMeansClusteringHook writes before an epoch: centroids (and the
    frozen classifiers), per-image stored labels on the host and the
    epoch's class weights."""
    gen = torch.Generator().manual_seed(seed)
    model.set_centroids(
        F.normalize(torch.randn(2, 11, 128, generator=gen), dim=-1))
    with torch.no_grad():
        size = model.extract_feat(inputs[0]).shape[2:]
    model.set_pseudo_labels({
        10 + i:
        torch.randint(11, (2, *size), generator=gen, dtype=torch.uint8)
        for i in range(2)
    })
    weights = torch.rand(2, 11, generator=gen)
    model.set_class_weights(weights / weights.sum(1, keepdim=True))


def to_device(model: torch.nn.Module, inputs: List[torch.Tensor],
              dev: torch.device):
    """A copy of the model and the inputs on ``dev`` (the data samples'
    geometry stays on the host, as the data preprocessor leaves it)."""
    model = copy.deepcopy(model).to(dev)
    return model, [x.to(dev) for x in inputs]


def losses_of(name: str, model, inputs, samples) -> Dict[str, torch.Tensor]:
    """The loss dict of one forward, without logged-only entries."""
    with _scope(name):
        losses = model.loss(inputs, samples)
    return {k: v for k, v in losses.items() if 'loss' in k}


def train_step(name: str,
               model,
               optimizer,
               inputs,
               samples,
               dtype=None) -> Dict[str, torch.Tensor]:
    """Forward (under autocast when ``dtype`` is given) and backward."""
    optimizer.zero_grad()
    with torch.autocast(
            inputs[0].device.type,
            dtype=dtype or torch.float32,
            enabled=dtype is not None):
        losses = losses_of(name, model, inputs, samples)
    sum(losses.values()).backward()
    return losses


def optimizer_of(model) -> torch.optim.Optimizer:
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=0.01,
                           momentum=0.9)
