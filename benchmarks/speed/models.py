# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Models, synthetic batches and train steps for the cost benchmark.

Every model is built from the project's model configs
(``configs/_base_/models/densesiam_{backbone}.py``); the SimSiam baseline is
mmpretrain's ``SimSiam`` with the *same* backbone, neck and head dicts, so the
only difference between the variants is the dense branches:

- ``simsiam``: mmpretrain's SimSiam (= DenseSiam's global branch);
- ``densesiam_pixsim``: DenseSiam, RegionSim off (first half of training);
- ``densesiam_full``: DenseSiam, RegionSim on (second half);
- ``densesiam_full_cp``: the same with ``region_sim_head.with_cp=True``
  (activation checkpointing of RegionSim: less memory, some recompute).

Norm layers are plain BN (``BN`` for maps, ``BN1d`` for vectors), as in the
one-process configs, so both models run without a process group.
"""
import copy
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import densesiam_mm  # noqa: F401  (registers DenseSiam)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VARIANTS = ('simsiam', 'densesiam_pixsim', 'densesiam_full',
            'densesiam_full_cp')
VARIANT_NAMES = {
    'simsiam': 'SimSiam (global only)',
    'densesiam_pixsim': 'DenseSiam, + PixSim (RegionSim off)',
    'densesiam_full': 'DenseSiam, + PixSim + RegionSim',
    'densesiam_full_cp': 'DenseSiam, + PixSim + RegionSim, with_cp=True',
}


def densesiam_model_cfg(backbone: str = 'resnet18') -> dict:
    """The project's DenseSiam model dict with one-process BN layers."""
    path = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                    f'densesiam_{backbone}.py')
    if not osp.exists(path):
        raise FileNotFoundError(
            f'no model config for backbone {backbone!r}: {path}')
    model = copy.deepcopy(Config.fromfile(path).model.to_dict())
    maps, vectors = dict(type='BN'), dict(type='BN1d')
    model['backbone']['norm_cfg'] = maps
    model['neck']['norm_cfg'] = vectors
    model['head']['predictor']['norm_cfg'] = vectors
    model['pix_sim_neck']['norm_cfg'] = maps
    model['pix_sim_head']['predictor']['norm_cfg'] = maps
    model['region_sim_head']['projector']['norm_cfg'] = vectors
    model['region_sim_head']['predictor']['norm_cfg'] = vectors
    return model


def variant_cfg(variant: str, backbone: str = 'resnet18') -> dict:
    """Model dict of one benchmark variant (see the module docstring)."""
    cfg = densesiam_model_cfg(backbone)
    if variant == 'simsiam':
        return dict(
            type='SimSiam',
            backbone=cfg['backbone'],
            neck=cfg['neck'],
            head=cfg['head'])
    if variant not in VARIANTS:
        raise ValueError(f'unknown variant {variant!r}; choose from '
                         f'{VARIANTS}')
    cfg['region_sim_enabled'] = variant.startswith('densesiam_full')
    cfg['region_sim_head']['with_cp'] = variant == 'densesiam_full_cp'
    return cfg


def build_variant(
        variant: str,
        backbone: str = 'resnet18',
        device: str = 'cpu',
        channels_last: bool = False,
        seed: int = 0) -> Tuple[torch.nn.Module, torch.optim.Optimizer]:
    """Model in train mode and its optimizer (SimSiam's SGD settings)."""
    torch.manual_seed(seed)
    model = MODELS.build(variant_cfg(variant, backbone)).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    return model, optimizer


def synthetic_batch(
        batch_size: int,
        size: int = 224,
        device: str = 'cpu',
        channels_last: bool = False,
        seed: int = 0) -> Tuple[List[torch.Tensor], List[DataSample]]:
    """Two normalised views and data samples with overlapping crop boxes.

    The boxes and flips are numpy arrays, as ``PackInputs`` leaves them.
    """
    gen = torch.Generator().manual_seed(seed)
    inputs = []
    for _ in range(2):
        view = torch.randn(batch_size, 3, size, size, generator=gen)
        view = view.to(device)
        if channels_last:
            view = view.contiguous(memory_format=torch.channels_last)
        inputs.append(view)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(batch_size):
        x1, y1 = rng.uniform(0, 200, size=2)
        box1 = [x1, y1, x1 + 250, y1 + 180]
        box2 = [x1 + 60, y1 + 40, x1 + 330, y1 + 240]
        sample = DataSample()
        sample.set_field(np.array([box1, box2], np.float32), 'view_boxes')
        sample.set_field(rng.uniform(size=2) < 0.5, 'view_flips')
        samples.append(sample)
    return inputs, samples


def train_step(model: torch.nn.Module,
               optimizer: torch.optim.Optimizer,
               inputs: List[torch.Tensor],
               samples: List[DataSample],
               amp_dtype: torch.dtype = None) -> Dict[str, torch.Tensor]:
    """Forward, backward and optimizer step (what one iteration costs).

    ``amp_dtype`` (e.g. ``torch.bfloat16``) runs the forward under autocast
    on the inputs' device; the losses are float32 either way.
    """
    device_type = inputs[0].device.type
    optimizer.zero_grad()  # set_to_none, as mmengine's OptimWrapper
    with torch.autocast(
            device_type=device_type,
            dtype=amp_dtype or torch.float32,
            enabled=amp_dtype is not None):
        losses = model.loss(inputs, samples)
    loss = sum(losses.values())
    loss.backward()
    optimizer.step()
    return losses
