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
from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                        RebalancedPseudoLabelLoss)
from ..conftest import config_path

DENSESIAM_CAMVID = config_path('unsup_seg',
                               'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py')
DENSESIAM_GRID_CAMVID = config_path(
    'unsup_seg', 'densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py')
PICIE_OFFICIAL_CAMVID = config_path('unsup_seg',
                                    'picie_resnet18-fpn_1xb8-3e_camvid.py')
# the earlier (online-label) variant: tests of its behaviour
PICIE_CAMVID = config_path('unsup_seg',
                           'picie-online_resnet18-fpn_1xb8-3e_camvid.py')
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
    inputs = [
        torch.randn(batch_size, 3, size, size, generator=gen) for _ in range(2)
    ]
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
    target = torch.tensor([[[math.log(2.), 0.], [0., 0.]], [[0., 9.], [9.,
                                                                       0.]]])
    loss = DenseSimilarityLoss(mode='cross_entropy')(pred, target,
                                                     torch.tensor(
                                                         [True, False]))
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
        logits.transpose(1, 2).reshape(-1, 2),
        labels.reshape(-1),
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
        fpn.laterals[1](c3), size=(8, 8), mode='bilinear', align_corners=False)
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
    assert set(losses) == {
        'loss_dense', 'loss_pseudo', 'loss_aux', 'loss_region'
    }
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
    samples = [
        SegDataSample(metainfo=dict(ori_shape=(45, 61), img_shape=(32, 48)))
    ]
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 48), samples)[0]
    assert out.pred_sem_seg.data.shape == (1, 45, 61)
    assert out.seg_logits.data.shape == (11, 45, 61)
    labels = out.pred_sem_seg.data
    assert labels.min() >= 0 and labels.max() < 11
    # the COCO protocol evaluates at the (cropped) network input instead
    model.test_cfg['output_size'] = 'img_shape'
    samples = [
        SegDataSample(metainfo=dict(ori_shape=(45, 61), img_shape=(32, 48)))
    ]
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
    sample = SegDataSample(
        metainfo=dict(ori_shape=(32, 32), img_shape=(32, 32)))
    with torch.no_grad():
        out = model.predict(image, [sample])[0]
        feats = F.normalize(model.extract_feat(image), dim=1)
        nearest = torch.einsum('bchw,kc->bkhw', feats, centroids[0])
        nearest = F.interpolate(
            nearest, size=(32, 32), mode='bilinear',
            align_corners=False).argmax(1)
    assert out.pred_sem_seg.data.shape == (1, 32, 32)
    assert torch.equal(out.pred_sem_seg.data, nearest)
    with pytest.raises(ValueError, match='set_centroids'):
        model.set_centroids(torch.randn(3, 11, 128))


# ---------------------------------------------------- data and checkpoints
def test_two_view_packing_and_preprocessing():
    cfg = Config.fromfile(DENSESIAM_CAMVID)
    pipeline = [TRANSFORMS.build(t) for t in cfg.train_pipeline[1:]]
    rng = np.random.RandomState(0)
    batch = []
    for index in range(2):
        results = dict(
            img=rng.randint(0, 255, (60, 80, 3), np.uint8),
            img_path='x.jpg',
            ori_shape=(60, 80),
            sample_idx=index)
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
    model = build(
        DENSESIAM_CAMVID,
        backbone=dict(
            Config.fromfile(DENSESIAM_CAMVID).model.backbone,
            init_cfg=dict(type='Pretrained', checkpoint=tv_path)))
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, tv_state[key])
    # this project's pre-training checkpoints: prefix 'backbone.'
    own_state = {
        f'backbone.{k}': v + 1
        for k, v in tv_state.items() if not k.startswith('fc.')
    }
    own_path = str(tmp_path / 'densesiam_pretrain.pth')
    torch.save(dict(state_dict=own_state, meta=dict()), own_path)
    model = build(
        PICIE_CAMVID,
        backbone=dict(
            Config.fromfile(PICIE_CAMVID).model.backbone,
            init_cfg=dict(
                type='Pretrained', checkpoint=own_path, prefix='backbone.')))
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
        assert abs(value.item() -
                   ref[name].item()) < 0.05 * max(1., abs(ref[name].item())), (
                       name, value.item(), ref[name].item())
    sum(losses.values()).backward()


@pytest.mark.parametrize('field,value', [('aux_loss_weight', float('inf')),
                                         ('region_loss_weight', -0.1),
                                         ('dense_loss_weight', True)])
def test_bad_loss_weight_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f'DenseSiamSeg: `{field}`'):
        build(DENSESIAM_CAMVID, **{field: value})


# ------------------------------------------------- the authors' recipes
def test_proportional_rebalance_is_the_authors_l_seg_hand_computed():
    """L_seg = 1/n sum_i (n_{y_i} / n) CE_i, y_i = argmax of the logits
    themselves (same view), as the authors' HardCESimilarity."""
    # one image, N = 2, four points: labels 0, 1, 0, 0 (n_0 = 3, n_1 = 1)
    z = torch.tensor([[[2., 0., 1., 3.], [0., 1., 0., 0.]]])  # (1, 2, 4)
    labels = z.argmax(1)
    assert labels.tolist() == [[0, 1, 0, 0]]
    ce = [
        math.log(1 + math.exp(-2)),
        math.log(1 + math.exp(-1)),
        math.log(1 + math.exp(-1)),
        math.log(1 + math.exp(-3))
    ]
    weight = [3 / 4, 1 / 4, 3 / 4, 3 / 4]
    expected = sum(w * c for w, c in zip(weight, ce)) / 4
    loss = RebalancedPseudoLabelLoss(rebalance='proportional')(z, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # the inverse weighting of the earlier variant gives another number
    inverse = RebalancedPseudoLabelLoss(rebalance='inverse')(z, labels)
    assert inverse.item() == pytest.approx(
        0.5 * ((ce[0] + ce[2] + ce[3]) / 3 + ce[1]), rel=1e-6)
    # per-point masks (dense mode): masked points are not counted at all
    mask = torch.tensor([[True, True, True, False]])
    masked = RebalancedPseudoLabelLoss(rebalance='proportional')(z, labels,
                                                                 mask)
    assert masked.item() == pytest.approx(
        (2 / 3 * ce[0] + 1 / 3 * ce[1] + 2 / 3 * ce[2]) / 3, rel=1e-6)


def test_densesiam_seg_official_l_seg_is_same_view_on_the_projector():
    model = build(
        DENSESIAM_CAMVID,
        aux_projector=None,
        aux_pix_sim_head=None,
        region_sim_head=None)
    assert (model.correspondence, model.pseudo_label,
            model.pseudo_loss_weight) == ('dense', 'same_view', 1.0)
    inputs, samples = two_view_batch()
    losses = model.loss(inputs, samples)
    # L_seg trains the projector (the inference head), not the predictor
    model.zero_grad()
    losses['loss_pseudo'].backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.pix_sim_head.predictor.parameters())
    assert model.projector.mlp[0].weight.grad.abs().sum() > 0
    # the official projector: [1x1 no bias, BN, ReLU] x 2, 1x1 + bias,
    # BN(affine=False)
    convs = [m for m in model.projector.mlp if isinstance(m, torch.nn.Conv2d)]
    assert [c.bias is not None for c in convs] == [False, False, True]
    assert not model.projector.mlp[-1].affine


def test_kernel_contrast_hand_computed_with_t_and_no_stop_gradient():
    """The authors' kernel contrast: L2-normalised <p, z> / 0.1, CE over
    the regions of each image, targets not detached."""
    from densesiam_mm.models.losses import RegionInfoNCELoss
    loss_fn = RegionInfoNCELoss(temperature=0.1)
    pred = torch.tensor([[[1., 0.], [0., 1.]]])  # (B=1, N=2, D=2)
    target = torch.tensor([[[1., 0.], [1., 1.]]], requires_grad=True)
    loss = loss_fn(pred, target)
    c = 1 / math.sqrt(2)  # <(1,0),(1,1)/|.|> = <(0,1),(1,1)/|.|>
    row0 = math.log(math.exp(10) + math.exp(10 * c)) - 10
    row1 = math.log(math.exp(0) + math.exp(10 * c)) - 10 * c
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)
    loss.backward()
    assert target.grad.abs().sum() > 0  # the target side is trained too

    # the head: with stop_grad=False, view 2's embedding z2 gets the extra
    # gradient of L(p1, z2) through the target side, exactly
    head = MODELS.build(
        Config.fromfile(DENSESIAM_CAMVID).model.region_sim_head)
    assert head.stop_grad is False
    assert head.loss_module.temperature == 0.1
    gen = torch.Generator().manual_seed(0)
    masks = [torch.randn(2, 11, 6, 6, generator=gen) for _ in range(2)]
    feats = [torch.randn(2, 128, 6, 6, generator=gen) for _ in range(2)]
    valid = torch.tensor([True, True])
    z1, p1 = head.embed_points(masks[0], feats[0])
    z2, p2 = head.embed_points(masks[1], feats[1])
    grads = {}
    for stop_grad in (True, False):
        head.stop_grad = stop_grad
        loss = head._symmetric_loss(z1, p1, z2, p2, valid)
        grads[stop_grad] = torch.autograd.grad(
            loss,
            z2,
            retain_graph=True,
            allow_unused=True,
            materialize_grads=True)[0]
    assert grads[True].abs().sum() == 0  # detached target: no gradient
    extra = torch.autograd.grad(
        0.5 * loss_fn(p1.detach(), z2, valid), z2, retain_graph=True)[0]
    torch.testing.assert_close(grads[False] - grads[True], extra)
    # masks get gradient (softmax of z with gradient)
    masks[0].requires_grad_(True)
    z1, p1 = head.embed_points(masks[0], feats[0])
    head._symmetric_loss(z1, p1, z2, p2, valid).backward()
    assert masks[0].grad.abs().sum() > 0


def test_kernel_contrast_g_prime_is_the_authors_three_layers():
    head = MODELS.build(
        Config.fromfile(DENSESIAM_CAMVID).model.region_sim_head)
    linears = [
        m for m in head.projector.modules() if isinstance(m, torch.nn.Linear)
    ]
    assert [(m.in_features, m.out_features, m.bias is not None)
            for m in linears] == [(128, 128, False)] * 3
    assert not head.projector.bn2.affine
    linears = [
        m for m in head.predictor.modules() if isinstance(m, torch.nn.Linear)
    ]
    assert [(m.in_features, m.out_features, m.bias is not None)
            for m in linears] == [(128, 128, False), (128, 128, True)]


def test_region_sim_with_fewer_than_two_regions_names_the_field():
    from densesiam_mm.models.losses import RegionInfoNCELoss
    with pytest.raises(ValueError, match='projector.out_channels'):
        RegionInfoNCELoss()(torch.randn(2, 1, 8), torch.randn(2, 1, 8))
    cfg = Config.fromfile(DENSESIAM_CAMVID)
    with pytest.raises(ValueError, match='projector.out_channels'):
        build(
            DENSESIAM_CAMVID,
            projector=dict(cfg.model.projector, out_channels=1))


def test_picie_official_frozen_classifiers_and_proportional_weights():
    model = build(PICIE_OFFICIAL_CAMVID)
    assert (model.correspondence, model.label_source, model.class_weight,
            model.freeze_classifiers) == ('dense', 'stored', 'epoch', True)
    centroids = F.normalize(torch.randn(2, 11, 128), dim=-1)
    model.set_centroids(centroids)
    frozen = [c.weight.detach().clone() for c in model.classifiers]

    # the clustering hook's labels and weights on known features: raw
    # centroids, Euclidean nearest centroid (the authors')
    from types import SimpleNamespace

    from densesiam_mm.engine.hooks import KMeansClusteringHook
    hook = KMeansClusteringHook(assign_labels=True, progress=False)
    feats = [
        centroids[v][[0, 0, 0, 1, 1, 2]].T.reshape(1, 128, 2, 3)
        for v in range(2)
    ]
    fake = SimpleNamespace(
        num_clusters=11,
        assign_labels=model.assign_labels,
        data_preprocessor=lambda data, training: data,
        view_features=lambda views, samples: (feats, None))
    sample = SegDataSample(metainfo=dict(sample_idx=7))
    labels, weights = hook.label_pass(
        fake, [dict(inputs=[None, None], data_samples=[sample])], None)
    assert labels[7].tolist() == [[[0, 0, 0], [1, 1, 2]]] * 2
    expected = torch.zeros(11)
    expected[:3] = torch.tensor([3 / 6, 2 / 6, 1 / 6])  # n_k / n
    torch.testing.assert_close(weights, expected.expand(2, -1))

    # a training step: stored labels by sample_idx, epoch weights, the
    # classifiers do not move
    inputs, samples = two_view_batch()
    boxes = torch.tensor([[8., 8., 40., 40.], [0., 0., 64., 64.]])
    for i, sample in enumerate(samples):
        sample.view_boxes = boxes  # view 1 nested in view 2
        sample.set_metainfo(dict(sample_idx=10 + i))
    size = model.extract_feat(inputs[0]).shape[2:]
    gen = torch.Generator().manual_seed(1)
    model.set_pseudo_labels({
        10 + i:
        torch.randint(11, (2, *size), generator=gen, dtype=torch.uint8)
        for i in range(2)
    })
    class_weights = torch.rand(2, 11, generator=gen)
    model.set_class_weights(class_weights / class_weights.sum(1, True))
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    optimizer.step()
    for classifier, before in zip(model.classifiers, frozen):
        assert not classifier.weight.requires_grad
        assert classifier.weight.grad is None
        torch.testing.assert_close(classifier.weight, before)
    assert model.backbone.conv1.weight.grad.abs().sum() > 0

    # the within term of view 1, by hand: torch's CE(weight) mean
    with torch.no_grad():
        feats, valid = model.view_features(inputs, samples)
        label1 = torch.stack(
            [model.stored_labels[10 + i][0] for i in range(2)]).long()
        logits = model.classify(feats[0], 0)
        log_p = logits.log_softmax(1).gather(1, label1[:, None])[:, 0]
        w = model.epoch_class_weights[0][label1]
        by_hand = (-(w * log_p)).sum() / w.sum()
        got = model._ce(logits, label1, valid, 0)
    assert got.item() == pytest.approx(by_hand.item(), rel=1e-5)
    with pytest.raises(KeyError, match='sample_idx'):
        model.set_pseudo_labels({})
        model.loss(inputs, samples)


def test_simplified_fpn_init_is_caffe2_xavier_fill():
    """Kaiming uniform with a = 1 for a leaky ReLU: bound sqrt(3 / fan_in)
    (mmengine's default nonlinearity='relu' would ignore a)."""
    torch.manual_seed(0)
    fpn = MODELS.build(
        dict(type='SimplifiedFPN', in_channels=[512], out_channels=256))
    fpn.init_weights()
    weight = fpn.laterals[0].weight
    bound = math.sqrt(3 / 512)
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.95 * bound
    assert fpn.laterals[0].bias.abs().max() == 0


def test_picie_every_pixel_and_sampled_clustering_label_every_image():
    """Both clustering modes give finite centroids and label every pixel of
    every image with its nearest (Euclidean) centroid."""
    from types import SimpleNamespace

    from mmengine.logging import MMLogger

    from densesiam_mm.engine.hooks import KMeansClusteringHook
    model = build(PICIE_OFFICIAL_CAMVID).eval()
    assert model.centroid_norm == 'raw'
    gen = torch.Generator().manual_seed(0)
    loader = []
    for batch in range(2):
        samples = []
        for i in range(2):
            sample = SegDataSample(metainfo=dict(sample_idx=2 * batch + i))
            sample.set_field(
                torch.tensor([[8., 4., 40., 36.], [0., 0., 64., 64.]]),
                'view_boxes')
            sample.set_field(torch.tensor([i == 0, False]), 'view_flips')
            samples.append(sample)
        views = [[
            torch.randint(
                0, 255, (3, 64, 64), generator=gen, dtype=torch.uint8)
            for _ in range(2)
        ] for _ in range(2)]
        loader.append(dict(inputs=views, data_samples=samples))
    runner = SimpleNamespace(
        model=model,
        train_dataloader=loader,
        epoch=0,
        iter=0,
        logger=MMLogger.get_current_instance(),
        optim_wrapper=None)
    for hook in (KMeansClusteringHook(
            clustering='sampled',
            points_per_image=16,
            assign_labels=True,
            progress=False),
                 KMeansClusteringHook(
                     init_batches=1,
                     update_batches=1,
                     assign_labels=True,
                     progress=False)):
        hook.cluster(runner)
        assert sorted(model.stored_labels) == [0, 1, 2, 3]
        assert torch.isfinite(model.centroids).all()
        # raw centroids: not unit-norm, classifiers equal them
        assert not torch.allclose(
            model.centroids.norm(dim=-1), torch.ones(2, 11))
        torch.testing.assert_close(model.classifiers[0].weight[:, :, 0, 0],
                                   model.centroids[0])
        data = model.data_preprocessor(loader[0], True)
        feats, _ = model.view_features(data['inputs'], data['data_samples'])
        dists = torch.cdist(feats[0].flatten(2).transpose(1, 2),
                            model.centroids[0][None])
        torch.testing.assert_close(model.stored_labels[0][0].long().flatten(),
                                   dists[0].argmin(-1))
        torch.testing.assert_close(
            model.epoch_class_weights.sum(1), torch.ones(2))
