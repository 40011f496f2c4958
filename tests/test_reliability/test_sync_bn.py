# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The paper's SyncBN config trains on one CPU process (SyncBN -> BN)."""
import logging

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..conftest import config_path

PAPER_CFG = config_path('densesiam',
                        'densesiam_resnet50_16xb32-coslr-200e_in1k.py')


def test_paper_r50_syncbn_config_runs_on_cpu():
    cfg = Config.fromfile(PAPER_CFG)
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert any(
        'no distributed process group' in m and 'SyncBN layers run as BN' in m
        for m in messages), messages
    assert not any('SyncBatchNorm' in type(m).__name__
                   for m in model.modules())

    # one training step on two tiny view pairs, RegionSim on
    model.region_sim_enabled = True
    inputs = [torch.randn(2, 3, 64, 64) for _ in range(2)]
    samples = []
    for _ in range(2):
        sample = DataSample()
        sample.set_field(
            torch.tensor([[0., 0, 60, 60], [10, 5, 64, 64]]), 'view_boxes')
        sample.set_field(torch.tensor([False, True]), 'view_flips')
        samples.append(sample)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_global', 'loss_dense', 'loss_region'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    grad = model.backbone.conv1.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum()
