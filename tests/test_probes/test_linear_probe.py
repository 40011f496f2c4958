# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Linear probe: frozen backbone, known-answer training, feature cache."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.models.probes import (DenseFeatureCache, LinearProbe,
                                        LinearProbeHead)
from tests.conftest import config_path, shared_path

PROBE_CONFIG = config_path(
    'benchmarks', 'dense_probe', 'camvid',
    'linear-probe_resnet18-c5_1xb16-200i_camvid-320x240.py')

#: one colour a class, in convex position (vertices of a tetrahedron), so a
#: linear classifier (and k-means) can recover the label from the colour
CLASS_COLOURS = torch.tensor([[255., 0., 0.], [0., 255., 0.], [0., 0., 255.],
                              [255., 255., 255.]])


@MODELS.register_module(force=True)
class ColourCodeBackbone(BaseModule):
    """Test backbone: its one output (stride 1) is the input image, i.e.
    features that encode the label exactly (one colour a class)."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.scale = torch.nn.Parameter(torch.ones(1))  # to stay frozen

    def forward(self, x):
        return (x * self.scale, )


def colour_coded_batch(num=4, size=(24, 32), seed=0):
    """Images made of class-coloured blocks and their label maps."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    blocks = torch.randint(
        0, 4, (num, height // 8, width // 8), generator=generator)
    labels = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    images = CLASS_COLOURS[labels].permute(0, 3, 1, 2)  # (B, 3, H, W)
    samples = []
    for label in labels:
        sample = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    return images, labels, samples


def build_colour_probe():
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(
            dict(
                type='LinearProbe',
                data_preprocessor=dict(
                    type='SegDataPreProcessor',
                    mean=[0., 0., 0.],
                    std=[255., 255., 255.],
                    size=(24, 32)),
                backbone=dict(type='ColourCodeBackbone'),
                decode_head=dict(
                    type='LinearProbeHead',
                    in_channels=3,
                    in_index=0,
                    num_classes=4,
                    norm_cfg=None),
                test_cfg=dict(mode='whole')))
    model.init_weights()
    return model


def test_linear_probe_reaches_100_miou_on_label_coded_features():
    images, labels, samples = colour_coded_batch()
    model = build_colour_probe()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=2.0,
        momentum=0.9)
    inputs = images / 255.
    model.train()
    for _ in range(60):
        losses = model.loss(inputs, copy.deepcopy(samples))
        optimizer.zero_grad()
        losses['decode.loss_ce'].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        results = model.predict(inputs, copy.deepcopy(samples))
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=['r', 'g', 'b', 'w'])
    metric.process({}, [r.to_dict() for r in results])
    scores = metric.evaluate(len(results))
    assert scores['mIoU'] == pytest.approx(100.0)
    assert model.backbone.scale.item() == 1.0 and \
        model.backbone.scale.grad is None


def test_linear_probe_head_concatenates_stages_at_the_first_stride():
    head = LinearProbeHead(
        in_channels=[4, 8],
        in_index=[0, 1],
        num_classes=3,
        norm_cfg=dict(type='BN'))
    feats = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 4, 4)]
    assert head.dense_features(feats).shape == (2, 12, 16, 16)
    assert head(feats).shape == (2, 3, 16, 16)
    assert head.probed_indices == (0, 1)
    head.eval()
    weight, bias = head.linear_map()  # BN folded: still one linear map
    x = head.dense_features(feats)
    folded = torch.einsum('kc,bchw->bkhw', weight, x) + bias[:, None, None]
    torch.testing.assert_close(head(feats), folded, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='one `in_channels` per'):
        LinearProbeHead(in_channels=4, in_index=[0, 1], num_classes=3)


def test_loss_label_stride_subsamples_labels_at_cell_centres():
    head = LinearProbeHead(
        in_channels=4, in_index=0, num_classes=3, loss_label_stride=4)
    label = torch.arange(16 * 16).reshape(1, 16, 16)
    sample = SegDataSample(gt_sem_seg=PixelData(data=label))
    sub = head._stack_batch_gt([sample])
    assert sub.shape == (1, 1, 4, 4)
    assert sub[0, 0, 0, 0] == label[0, 2, 2] and \
        sub[0, 0, 1, 3] == label[0, 6, 14]
    with pytest.raises(ValueError, match='loss_label_stride'):
        LinearProbeHead(in_channels=4, num_classes=3, loss_label_stride=0)


def test_feature_cache_returns_the_backbone_features_and_follows_weights():
    DenseFeatureCache.clear_all()
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(
            dict(
                type='LinearProbe',
                cache_features=True,
                backbone=dict(
                    type='ResNet', depth=18, norm_cfg=dict(type='BN')),
                decode_head=dict(
                    type='LinearProbeHead',
                    in_channels=[256, 512],
                    in_index=[2, 3],
                    num_classes=3)))
    model.init_weights()
    x = torch.randn(2, 3, 64, 64)
    direct = model.backbone(x)
    first = model.backbone_features(x)
    again = model.backbone_features(x)
    assert first[0] is None and first[1] is None  # not probed: not kept
    for stage in (2, 3):
        torch.testing.assert_close(first[stage], direct[stage])
        torch.testing.assert_close(again[stage], direct[stage])
    cache = model.feature_cache
    assert (len(cache), cache.hits, cache.misses) == (2, 2, 2)
    # new weights -> another cache: stale features are never returned
    state = {
        k: v + 1 if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    assert model.feature_cache is not cache
    torch.testing.assert_close(
        model.backbone_features(x)[3],
        model.backbone(x)[3])
    DenseFeatureCache.clear_all()


def test_probe_without_backbone_weights_is_refused():
    cfg = Config.fromfile(PROBE_CONFIG)
    with DefaultScope.overwrite_default_scope('mmseg'), \
            pytest.raises(ValueError, match='init_cfg.checkpoint'):
        MODELS.build(cfg.model)
    with pytest.raises(ValueError, match='not part of a linear probe'):
        LinearProbe(
            backbone=dict(type='ResNet', depth=18),
            decode_head=dict(
                type='LinearProbeHead', in_channels=512, num_classes=3),
            neck=dict(type='FPN'))


def test_runner_training_leaves_the_backbone_bit_identical(tmp_path):
    """The CamVid probe config under mmengine's Runner (tiny: 8 frames at
    64x48, 3 iterations): no backbone gradient, weights and BN statistics
    unchanged, the head trained, features cached once per frame."""
    shared_path('camvid')
    from mmengine.runner import Runner
    DenseFeatureCache.clear_all()
    cfg = Config.fromfile(PROBE_CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (48, 64)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.batch_size = 4
        loader.dataset.indices = 8
        for step in loader.dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (64, 48)
    cfg.train_cfg.max_iters = 3
    cfg.train_cfg.val_interval = 3
    cfg.param_scheduler[0].end = 3
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path)
    cfg.launcher = 'none'
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    model = runner.model
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.decode_head.conv_seg.weight.detach().clone()
    runner.train()
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), \
        'backbone weights or BN statistics changed'
    assert all(p.grad is None and not p.requires_grad
               for p in model.backbone.parameters())
    assert not model.backbone.training
    assert not torch.equal(head_before, model.decode_head.conv_seg.weight)
    cache = model.feature_cache
    assert len(cache) == 16  # 8 train + 8 val frames, each computed once
    assert cache.misses == 16 and cache.hits > 0
    DenseFeatureCache.clear_all()
