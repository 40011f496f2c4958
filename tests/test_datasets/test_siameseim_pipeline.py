# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The paper config's data pipeline on real CamVid frames."""
import glob
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import init_default_scope

import densesiam_mm  # noqa: F401
from densesiam_mm.models.utils import view_patch_positions
from ..conftest import config_path, shared_path

PAPER = config_path('siameseim',
                    'siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py')


def test_paper_pipeline_makes_two_224_views_boxes_and_118_masked():
    frames = sorted(
        glob.glob(osp.join(shared_path('camvid', 'images', 'train'),
                           '*.png')) +
        glob.glob(osp.join(shared_path('camvid', 'images', 'train'), '*.jpg'))
    )[:6]
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(PAPER)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    np.random.seed(0)
    batch = default_collate([pipeline(dict(img_path=f)) for f in frames])
    view1, view2 = batch['inputs']
    assert view1.shape == view2.shape == (6, 3, 224, 224)
    masks = torch.stack([s.mask for s in batch['data_samples']])
    assert masks.shape == (6, 14, 14)
    assert (masks.flatten(1).sum(1) == 118).all()
    boxes = torch.stack(
        [torch.as_tensor(s.view_boxes) for s in batch['data_samples']])
    flips = torch.stack(
        [torch.as_tensor(s.view_flips) for s in batch['data_samples']])
    assert boxes.shape == (6, 2, 4) and flips.shape == (6, 2)
    # boxes lie in the 480 x 360 frames and cover 8 %-100 % of them
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 2] <= 480).all()
    assert (boxes[..., 1] >= 0).all() and (boxes[..., 3] <= 360).all()
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    assert ((area / (480 * 360) > 0.079) & (area / (480 * 360) <= 1)).all()
    rows, cols = view_patch_positions(boxes[:, 0], flips[:, 0], boxes[:, 1],
                                      flips[:, 1], 14)
    assert torch.isfinite(rows).all() and torch.isfinite(cols).all()
