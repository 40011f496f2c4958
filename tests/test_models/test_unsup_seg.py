# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam-Seg and PiCIE: losses against hand-computed values, inference
at the original image size, initialisation from checkpoints."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.engine.hooks import spherical_kmeans
from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                        RebalancedPseudoLabelLoss)

from ..conftest import config_path

DENSESIAM_CAMVID = config_path('unsup_seg',
                               'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py')
PICIE_CAMVID = config_path('unsup_seg', 'picie_resnet18-fpn_1xb8-3e_camvid.py')
DENSESIAM_COCO = config_path(
    'unsup_seg', 'densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py')


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def build(config, **overrides):
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    model_cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def two_view_batch(batch_size=2, size=64):
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(batch_size, 3, size, size, generator=gen)
              for _ in range(2)]
    samples = []
    for i in range(batch_size):
        sample = SegDataSample()
        sample.set_field(
            torch.tensor([[0., 0., 60., 60.], [20., 10., 90., 80.]]),
            'view_boxes')
        sample.set_field(torch.tensor([i % 2 == 0, False]), 'view_flips')
        samples.append(sample)
    return inputs, samples


# ----------------------------------------------------------------- losses
def test_cross_entropy_similarity_hand_computed():
    # B=2 pairs, N=2 channels, 2 points; the second pair has no overlap
    pred = torch.tensor([[[0., math.log(3.)], [math.log(3.), 0.]],
                         [[5., 0.], [0., 5.]]])
    target = torch.tensor([[[math.log(2.), 0.], [0., 0.]],
                           [[0., 9.], [9., 0.]]])
    loss = DenseSimilarityLoss(mode='cross_entropy')(
        pred, target, torch.tensor([True, False]))
    # point 1: softmax(pred) = (1/4, 3/4), softmax(target) = (2/3, 1/3)
    point1 = -(2 / 3 * math.log(1 / 4) + 1 / 3 * math.log(3 / 4))
    # point 2: softmax(pred) = (3/4, 1/4), softmax(target) = (1/2, 1/2)
    point2 = -(0.5 * math.log(3 / 4) + 0.5 * math.log(1 / 4))
    assert loss.item() == pytest.approx((point1 + point2) / 2, rel=1e-6)


def test_rebalanced_pseudo_label_ce_hand_computed():
    # one image, N=2 classes, 4 points labelled 0, 0, 0, 1
    logits = torch.tensor([[[0., 0., math.log(3.), 0.],
                            [0., math.log(3.), 0., 0.]]])  # (1, 2, 4)
    labels = torch.tensor([[0, 0, 0, 1]])
    ce = [math.log(2.), math.log(4.), math.log(4 / 3), math.log(2.)]
    balanced = RebalancedPseudoLabelLoss()(logits, labels)
    # class 0: mean of its three points; class 1: its one point; then mean
    expected = 0.5 * (sum(ce[:3]) / 3 + ce[3])
    assert balanced.item() == pytest.approx(expected, rel=1e-6)
    plain = RebalancedPseudoLabelLoss(rebalance=False)(logits, labels)
    assert plain.item() == pytest.approx(sum(ce) / 4, rel=1e-6)
    # equals F.cross_entropy with inverse-frequency class weights
    weighted = F.cross_entropy(
        logits.transpose(1, 2).reshape(-1, 2), labels.reshape(-1),
        weight=torch.tensor([1 / 3, 1.]))
    assert balanced.item() == pytest.approx(weighted.item(), rel=1e-6)


def test_rebalanced_ce_skips_invalid_pairs_and_stays_finite():
    loss_fn = RebalancedPseudoLabelLoss()
    logits = torch.randn(2, 3, 4, requires_grad=True)
    labels = torch.randint(3, (2, 4))
    masked = loss_fn(logits, labels, torch.tensor([True, False]))
    alone = loss_fn(logits[:1], labels[:1])
    assert masked.item() == pytest.approx(alone.item(), rel=1e-6)
    none = loss_fn(logits, labels, torch.tensor([False, False]))
    assert none.item() == 0 and torch.isfinite(none)
    none.backward()
    assert logits.grad.abs().sum() == 0
    with pytest.raises(ValueError, match='do not match'):
        loss_fn(logits, labels[:, :3])


# ------------------------------------------------------------------ model
def test_simplified_fpn_is_upsample_and_add():
    fpn = MODELS.build(
        dict(type='SimplifiedFPN', in_channels=[2, 3], out_channels=4))
    c2, c3 = torch.randn(1, 2, 8, 8), torch.randn(1, 3, 4, 4)
    out = fpn([c2, c3])[0]
    expected = fpn.laterals[0](c2) + F.interpolate(
        fpn.laterals[1](c3), size=(8, 8), mode='bilinear',
        align_corners=False)
    assert out.shape == (1, 4, 8, 8)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match='out_indices'):
        fpn([c2])


def test_densesiam_seg_loss_weights_follow_the_paper():
    model = build(DENSESIAM_COCO)
    log27, log128 = math.log(27), math.log(128)
    assert model.dense_loss_weight == pytest.approx(log128 / (log27 + log128))
    assert model.aux_loss_weight == pytest.approx(log27 / (log27 + log128))


def test_densesiam_seg_losses_finite_and_aux_trained_by_pixsim_only():
    model = build(DENSESIAM_CAMVID)
    inputs, samples = two_view_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_dense', 'loss_pseudo', 'loss_aux',
                           'loss_region'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    # the auxiliary projector gets gradient from loss_aux alone
    (losses['loss_dense'] + losses['loss_pseudo'] +
     losses['loss_region']).backward()
    assert all(p.grad is None for p in model.aux_projector.parameters())


def test_single_view_training_input_is_refused_with_a_hint():
    inputs, samples = two_view_batch()
    for config in (DENSESIAM_CAMVID, PICIE_CAMVID):
        with pytest.raises(ValueError, match='MultiViewWithGeometry'):
            build(config).loss(inputs[0], samples)
    with pytest.raises(KeyError, match='view_boxes'):
        build(DENSESIAM_CAMVID).loss(inputs, [SegDataSample()] * 2)
    with pytest.raises(KeyError, match='MultiViewWithGeometry'):
        TRANSFORMS.build(dict(type='PackMultiViewSegInputs'))(
            dict(img=np.zeros((4, 4, 3), np.uint8)))


def test_densesiam_seg_predict_returns_label_maps_at_original_size():
    model = build(DENSESIAM_CAMVID).eval()
    samples = [SegDataSample(metainfo=dict(ori_shape=(45, 61),
                                           img_shape=(32, 48)))]
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 48), samples)[0]
    assert out.pred_sem_seg.data.shape == (1, 45, 61)
    assert out.seg_logits.data.shape == (11, 45, 61)
    labels = out.pred_sem_seg.data
    assert labels.min() >= 0 and labels.max() < 11
    # the COCO protocol evaluates at the (cropped) network input instead
    model.test_cfg['output_size'] = 'img_shape'
    samples = [SegDataSample(metainfo=dict(ori_shape=(45, 61),
                                           img_shape=(32, 48)))]
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 48), samples)[0]
    assert out.pred_sem_seg.data.shape == (1, 32, 48)
    with pytest.raises(ValueError, match='output_size'):
        build(DENSESIAM_CAMVID, test_cfg=dict(output_size='full'))


def test_picie_predicts_nearest_centroid_and_losses_are_finite():
    model = build(PICIE_CAMVID)
    centroids = F.normalize(torch.randn(2, 11, 128), dim=-1)
    model.set_centroids(centroids)
    inputs, samples = two_view_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_within', 'loss_cross'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.classifiers[0].weight.grad is not None

    model.eval()
    image = torch.randn(1, 3, 32, 32)
    sample = SegDataSample(metainfo=dict(ori_shape=(32, 32),
                                         img_shape=(32, 32)))
    with torch.no_grad():
        out = model.predict(image, [sample])[0]
        feats = F.normalize(model.extract_feat(image), dim=1)
        nearest = torch.einsum('bchw,kc->bkhw', feats, centroids[0])
        nearest = F.interpolate(nearest, size=(32, 32), mode='bilinear',
                                align_corners=False).argmax(1)
    assert out.pred_sem_seg.data.shape == (1, 32, 32)
    assert torch.equal(out.pred_sem_seg.data, nearest)
    with pytest.raises(ValueError, match='set_centroids'):
        model.set_centroids(torch.randn(3, 11, 128))


def test_spherical_kmeans_recovers_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    directions = torch.eye(3)
    points = torch.cat([d + 0.05 * torch.randn(50, 3, generator=gen)
                        for d in directions])
    centroids = spherical_kmeans(points, 3, num_iters=10, generator=gen)
    assert torch.allclose(centroids.norm(dim=1), torch.ones(3))
    # every true direction has one centroid within a few degrees
    assert (centroids @ directions.T).max(dim=0).values.min() > 0.99
    # duplicates only: still K finite, unit centroids
    same = spherical_kmeans(torch.ones(10, 4), 3, generator=gen)
    assert torch.isfinite(same).all() and same.shape == (3, 4)
    with pytest.raises(ValueError, match='M >= K'):
        spherical_kmeans(torch.randn(2, 4), 3)


# ---------------------------------------------------- data and checkpoints
def test_two_view_packing_and_preprocessing():
    cfg = Config.fromfile(DENSESIAM_CAMVID)
    pipeline = [TRANSFORMS.build(t) for t in cfg.train_pipeline[1:]]
    rng = np.random.RandomState(0)
    batch = []
    for _ in range(2):
        results = dict(img=rng.randint(0, 255, (60, 80, 3), np.uint8),
                       img_path='x.jpg', ori_shape=(60, 80))
        for transform in pipeline:
            results = transform(results)
        batch.append(results)
    data = model_data = pseudo_collate(batch)
    model = build(DENSESIAM_CAMVID)
    out = model.data_preprocessor(model_data, training=True)
    assert len(out['inputs']) == 2
    assert all(view.shape == (2, 3, 96, 96) for view in out['inputs'])
    assert out['data_samples'][0].view_boxes.shape == (2, 4)
    # a view equals its image normalised (RGB order)
    raw = data['inputs'][1][0].float()[[2, 1, 0]]
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    torch.testing.assert_close(out['inputs'][1][0], (raw - mean) / std)
    assert all(torch.isfinite(v) for v in model.loss(**out).values())


def test_backbone_init_from_torchvision_and_own_checkpoints(tmp_path):
    # torchvision ResNet-18 keys equal mmseg ResNet's ('fc.*' is skipped)
    torch.manual_seed(1)
    tv_state = torchvision.models.resnet18().state_dict()
    tv_path = str(tmp_path / 'resnet18_torchvision.pth')
    torch.save(tv_state, tv_path)
    model = build(DENSESIAM_CAMVID, backbone=dict(
        Config.fromfile(DENSESIAM_CAMVID).model.backbone,
        init_cfg=dict(type='Pretrained', checkpoint=tv_path)))
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, tv_state[key])
    # this project's pre-training checkpoints: prefix 'backbone.'
    own_state = {f'backbone.{k}': v + 1 for k, v in tv_state.items()
                 if not k.startswith('fc.')}
    own_path = str(tmp_path / 'densesiam_pretrain.pth')
    torch.save(dict(state_dict=own_state, meta=dict()), own_path)
    model = build(PICIE_CAMVID, backbone=dict(
        Config.fromfile(PICIE_CAMVID).model.backbone,
        init_cfg=dict(type='Pretrained', checkpoint=own_path,
                      prefix='backbone.')))
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, own_state[f'backbone.{key}'])


@pytest.mark.parametrize('config', [DENSESIAM_CAMVID, PICIE_CAMVID])
def test_bf16_autocast_losses_are_fp32_and_finite(config):
    """Under autocast (the GPU recipe, here CPU bf16) every loss is
    computed and returned in float32 and stays close to the fp32 one."""
    model = build(config, region_sim_enabled=True) \
        if config == DENSESIAM_CAMVID else build(config)
    if config == PICIE_CAMVID:
        model.set_centroids(F.normalize(torch.randn(2, 11, 128), dim=-1))
    inputs, samples = two_view_batch()
    ref = copy.deepcopy(model).loss(inputs, samples)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    for name, value in losses.items():
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value), name
        assert abs(value.item() - ref[name].item()) < 0.05 * max(
            1., abs(ref[name].item())), (name, value.item(), ref[name].item())
    sum(losses.values()).backward()


@pytest.mark.parametrize('field,value', [('aux_loss_weight', float('inf')),
                                         ('region_loss_weight', -0.1),
                                         ('dense_loss_weight', True)])
def test_bad_loss_weight_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f'DenseSiamSeg: `{field}`'):
        build(DENSESIAM_CAMVID, **{field: value})
