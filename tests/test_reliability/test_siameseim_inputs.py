# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM refuses view sizes it cannot use, naming the config fields
(issue 18, items 9 and 10), and logs its frozen parameters in one line
(item 12).

- an ``img_size`` or a view size that is not a multiple of the patch size
  was padded silently by the patch embedding;
- views of different sizes failed inside UniGrad with a shape error that
  did not name the cause;
- mmengine's optimizer constructor logged one "requires_grad=False"
  warning per frozen parameter (81 for the CamVid demo).
"""
import logging

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import ExactCountBlockMask
from ..conftest import config_path

WIDTH = 32
DEMO_CFG = config_path(
    'siameseim', 'siameseim_vit-tiny-p8_1xb32-coslr-200i_camvid-64px.py')


def small_cfg(img_size=64, patch_size=8):
    token_norm = dict(type='TokenBN')
    return dict(
        type='SiameseIM',
        data_preprocessor=dict(type='SelfSupDataPreprocessor'),
        backbone=dict(
            type='SiameseIMViT',
            arch=dict(
                embed_dims=WIDTH,
                num_layers=1,
                num_heads=2,
                feedforward_channels=2 * WIDTH),
            img_size=img_size,
            patch_size=patch_size),
        neck=dict(
            type='SiameseIMProjector',
            in_channels=WIDTH,
            embed_dims=WIDTH,
            num_layers=1,
            num_heads=2,
            norm_cfg=token_norm),
        head=dict(
            type='SiameseIMHead',
            embed_dims=WIDTH,
            num_layers=1,
            num_heads=2,
            norm_cfg=token_norm))


def samples(num, grid, masked):
    np.random.seed(0)
    gen = ExactCountBlockMask(grid, masked, min_num_patches=4)
    out = []
    for i in range(num):
        sample = DataSample()
        sample.set_field(
            np.array([[0, 0, 50, 50], [10, 10, 60, 60]], np.float32),
            'view_boxes')
        sample.set_field(np.array([False, i % 2 == 0]), 'view_flips')
        sample.set_mask(gen({})['mask'])
        out.append(sample)
    return out


def views(size1, size2, num=2):
    gen = torch.Generator().manual_seed(0)
    return [
        torch.randn(num, 3, *size, generator=gen) for size in (size1, size2)
    ]


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')  # as the Runner does (conftest resets)


@pytest.fixture
def model():
    MessageHub.get_current_instance().update_info('max_iters', 10)
    return MODELS.build(small_cfg())


def test_img_size_not_a_multiple_of_the_patch_is_refused():
    with pytest.raises(ValueError) as err:
        MODELS.build(small_cfg(img_size=60))
    msg = str(err.value)
    for part in ('img_size', '60', 'patch_size', '8', 'e.g. 64',
                 'RandomResizedCropWithBox'):
        assert part in msg, msg


def test_demo_config_with_a_padded_img_size_is_refused():
    cfg = Config.fromfile(DEMO_CFG)
    cfg.model.backbone.img_size = 60
    with pytest.raises(ValueError, match=r'model\.backbone\.img_size'):
        MODELS.build(cfg.model)
    cfg.model.backbone.img_size = 64  # the demo's own value builds
    MODELS.build(cfg.model)


def test_views_not_a_multiple_of_the_patch_are_refused(model):
    # 60 px views, 8 px patches: padded to an 8 x 8 grid, the same as the
    # mask's, so the loss ran on padded patches
    with pytest.raises(ValueError) as err:
        model.loss(views((60, 60), (60, 60)), samples(2, 8, 38))
    msg = str(err.value)
    for part in ('60x60', 'patch size 8', 'model.backbone.patch_size',
                 'RandomResizedCropWithBox'):
        assert part in msg, msg


def test_views_of_different_sizes_are_refused(model):
    with pytest.raises(ValueError) as err:
        model.loss(views((64, 64), (48, 48)), samples(2, 8, 38))
    msg = str(err.value)
    for part in ('view 1 is 64x64', 'view 2 is 48x48',
                 'RandomResizedCropWithBox', 'MultiViewWithGeometry'):
        assert part in msg, msg


def test_non_square_views_are_refused(model):
    with pytest.raises(ValueError, match='64x48.*square'):
        model.loss(views((64, 48), (64, 48)), samples(2, 8, 38))


def test_mask_of_another_grid_is_refused(model):
    # 48 px views make a 6 x 6 grid; the mask is 8 x 8
    with pytest.raises(ValueError) as err:
        model.loss(views((48, 48), (48, 48)), samples(2, 8, 38))
    msg = str(err.value)
    for part in ('64 patches', '6x6', 'ExactCountBlockMask', 'input_size'):
        assert part in msg, msg


def test_matching_views_still_train(model):
    losses = model.loss(views((64, 64), (64, 64)), samples(2, 8, 38))
    assert torch.isfinite(losses['loss'])


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_frozen_parameters_logged_in_one_line():
    cfg = Config.fromfile(DEMO_CFG)
    model = MODELS.build(cfg.model)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert len(frozen) > 50  # patch embedding, position table, EMA target
    logger = MMLogger.get_current_instance()
    filters = list(logger.filters)
    handler = _Records()
    logger.addHandler(handler)
    try:
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in handler.records]
    about_frozen = [m for m in messages if 'requires_grad=False' in m]
    assert len(about_frozen) == 1, about_frozen[:3]
    assert not [r for r in handler.records if r.levelno >= logging.WARNING]
    assert f'{len(frozen)} frozen parameters' in about_frozen[0]
    for part in ('backbone.pos_embed', 'backbone.patch_embed (2)',
                 'target_net.module'):
        assert part in about_frozen[0], about_frozen[0]
    # the filter is gone after the call: the logger still logs such lines
    assert logger.filters == filters
    # and the frozen parameters are still out of the optimizer
    in_optim = {
        id(p)
        for g in optim.optimizer.param_groups
        for p in g['params']
    }
    assert in_optim == {id(p) for p in model.parameters() if p.requires_grad}
