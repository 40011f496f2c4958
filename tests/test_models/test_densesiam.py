# Copyright (c) densesiam_mm contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.models.heads import region_embeddings
from ..conftest import config_path


def small_model_cfg(**overrides):
    cfg = Config.fromfile(
        config_path('densesiam', 'densesiam_resnet18_1xb8-coslr-60i_demo.py'))
    model = copy.deepcopy(cfg.model)
    model.update(overrides)
    return model


def samples(boxes1, boxes2, flips1=None, flips2=None):
    out = []
    for i, (b1, b2) in enumerate(zip(boxes1, boxes2)):
        sample = DataSample()
        sample.set_field(
            torch.tensor([b1, b2], dtype=torch.float32), 'view_boxes')
        f1 = False if flips1 is None else flips1[i]
        f2 = False if flips2 is None else flips2[i]
        sample.set_field(torch.tensor([f1, f2]), 'view_flips')
        out.append(sample)
    return out


def batch(batch_size=4, size=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randn(batch_size, 3, size, size, generator=gen) for _ in range(2)
    ]
    boxes1 = [[0, 0, 60, 60]] * batch_size
    boxes2 = [[20, 10, 90, 80]] * batch_size
    return inputs, samples(boxes1, boxes2, [True, False] * (batch_size // 2))


def test_zero_weights_equal_simsiam():
    torch.manual_seed(0)
    cfg = small_model_cfg(
        dense_loss_weight=0.0, region_loss_weight=0.0, region_sim_enabled=True)
    densesiam = MODELS.build(cfg)
    simsiam_cfg = dict(
        type='SimSiam', backbone=cfg.backbone, neck=cfg.neck, head=cfg.head)
    simsiam = MODELS.build(simsiam_cfg)
    missing, unexpected = simsiam.load_state_dict(
        densesiam.state_dict(), strict=False)
    assert not missing
    assert all(k.startswith(('pix_sim', 'region_sim')) for k in unexpected)
    densesiam.train()
    simsiam.train()
    inputs, data_samples = batch()
    losses = densesiam.loss(inputs, data_samples)
    total = sum(losses.values())
    reference = simsiam.loss(inputs, data_samples)['loss']
    torch.testing.assert_close(total, reference)
    torch.testing.assert_close(losses['loss_global'], reference)


def test_four_losses_and_all_parameters_get_gradients():
    model = MODELS.build(small_model_cfg(region_sim_enabled=True))
    model.train()
    inputs, data_samples = batch()
    losses = model.loss(inputs, data_samples)
    assert set(losses) == {'loss_global', 'loss_dense', 'loss_region'}
    sum(losses.values()).backward()
    no_grad = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not no_grad


def test_region_sim_disabled_is_zero_but_connected():
    model = MODELS.build(small_model_cfg(region_sim_enabled=False))
    inputs, data_samples = batch()
    losses = model.loss(inputs, data_samples)
    assert losses['loss_region'].item() == 0
    sum(losses.values()).backward()
    for p in model.region_sim_head.parameters():
        assert p.grad is not None and p.grad.abs().sum() == 0


@pytest.mark.parametrize('mode', ['cosine', 'cross_entropy'])
def test_no_overlap_gives_finite_loss_and_no_dense_gradient(mode):
    cfg = small_model_cfg(region_sim_enabled=True)
    cfg.pix_sim_head.loss.mode = mode
    model = MODELS.build(cfg)
    model.train()
    inputs, _ = batch()
    apart = samples([[0, 0, 40, 40]] * 4, [[50, 50, 90, 90]] * 4)
    losses = model.loss(inputs, apart)
    for name, value in losses.items():
        assert torch.isfinite(value), name
    assert losses['loss_dense'].item() == 0
    assert losses['loss_region'].item() == 0
    (losses['loss_dense'] + losses['loss_region']).backward()
    for name, p in model.named_parameters():
        if p.grad is not None:
            assert p.grad.abs().sum() == 0, name
    # the global branch still trains
    model.zero_grad()
    model.loss(inputs, apart)['loss_global'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_region_embeddings_are_mask_weighted_sums():
    masks = torch.tensor([[[[0., 0.], [0., 0.]], [[0., 0.], [0., 0.]]]])
    feats = torch.arange(8.).view(1, 2, 2, 2)
    # uniform masks (softmax over 2 regions = 1/2): half the grid sum
    emb = region_embeddings(masks, feats)
    expected = 0.5 * feats.flatten(2).sum(-1)  # (1, C)
    torch.testing.assert_close(emb, expected[:, None].expand(1, 2, 2))


@pytest.mark.parametrize('field,value,match', [
    ('grid_size', 0, 'grid_size'),
    ('grid_size', -3, 'grid_size'),
    ('dense_loss_weight', -1.0, 'dense_loss_weight'),
    ('region_loss_weight', float('nan'), 'region_loss_weight'),
])
def test_bad_fields_raise_naming_them(field, value, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(small_model_cfg(**{field: value}))


def test_unknown_loss_mode_raises():
    cfg = small_model_cfg()
    cfg.pix_sim_head.loss.mode = 'euclid'
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(cfg)


def test_missing_geometry_is_a_clear_error():
    model = MODELS.build(small_model_cfg())
    inputs, _ = batch()
    with pytest.raises(KeyError, match='view_boxes'):
        model.loss(inputs, [DataSample() for _ in range(4)])
