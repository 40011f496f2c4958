# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseProbe: the in-memory k-means and linear probes of a backbone."""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from densesiam_mm.evaluation import DenseProbe
from densesiam_mm.evaluation.dense_probe import camvid_dataset
from ..conftest import shared_path

CLASSES = ('a', 'b', 'c')
CELL = 8  # px per label block = the synthetic backbone's stride


def grey(label):
    """Pixel value of class ``label`` (all three channels)."""
    return 30 + 80 * label


def write_blocks(root, num=12, size=(64, 48), seed=0):
    """``num`` frames of ``CELL`` px wide vertical stripes, each of one
    class whose grey level encodes it; labels as 8-bit PNGs (255 = ignored,
    one block). Stripes, not a checkerboard: bilinearly upsampled one-hot
    scores then recover every pixel (at a corner of four cells they would
    not)."""
    rng = np.random.RandomState(seed)
    w, h = size
    for folder in ('img', 'ann'):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for i in range(num):
        stripes = rng.randint(0, len(CLASSES), (1, w // CELL))
        stripes[0, 0] = i % len(CLASSES)
        label = stripes.repeat(h, 0).repeat(CELL, 1).astype(np.uint8)
        image = np.repeat(grey(label)[..., None], 3, 2).astype(np.uint8)
        label[:CELL, -CELL:] = 255  # an ignored block
        Image.fromarray(image).save(os.path.join(root, 'img', f'f{i:02d}.png'))
        Image.fromarray(label).save(os.path.join(root, 'ann', f'f{i:02d}.png'))
    return dict(
        type='BaseSegDataset',
        metainfo=dict(classes=CLASSES),
        data_root=str(root),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png',
        seg_map_suffix='.png')


class LabelBackbone(nn.Module):
    """Features = one-hot of the class of each ``CELL`` px block, decoded
    from the grey level (raw pixels: the probe's mean 0, std 1).

    ``tokens=True`` returns a ViT-like ``(B, 1 + h * w, C)`` sequence (a
    class token first) with ``patch_size``; ``two_stages`` returns the map
    at stride 8 and a constant map at stride 16 (C3-C5-like concatenation).
    """

    def __init__(self, tokens=False, two_stages=False):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.bn = nn.BatchNorm2d(3)
        self.tokens = tokens
        self.two_stages = two_stages
        self.patch_size = CELL

    def forward(self, x):
        self.bn(x)  # running statistics would move in train mode
        value = F.avg_pool2d(x[:, :1], CELL)
        label = ((value - 30) / 80).round().clamp(0, len(CLASSES) - 1)
        onehot = F.one_hot(label[:, 0].long(), len(CLASSES))
        onehot = onehot.permute(0, 3, 1, 2).float() * self.scale
        if self.tokens:
            seq = onehot.flatten(2).transpose(1, 2)
            return (torch.cat([seq.new_ones(len(x), 1, seq.size(2)), seq],
                              1), )
        if self.two_stages:
            return (onehot, onehot.new_ones(len(x), 2,
                                            *onehot.shape[-2:])[..., ::2, ::2])
        return (onehot, )


def probe(data, **kwargs):
    kwargs = {
        **dict(
            fit_dataset=data,
            eval_dataset=data,
            input_size=(64, 48),
            stages=(0, ),
            linear_iters=60,
            linear_batch_size=4,
            batch_size=4,
            loss_label_stride=1,
            mean=(0, 0, 0),
            std=(1, 1, 1),
            bgr_to_rgb=False),
        **kwargs
    }
    return DenseProbe(**kwargs)


@pytest.mark.parametrize('backbone,stages,label_size', [
    (LabelBackbone(), (0, ), 'original'),
    (LabelBackbone(tokens=True), (-1, ), 'input'),
    (LabelBackbone(two_stages=True), (0, 1), 'original'),
])
def test_features_that_encode_the_labels_score_100(tmp_path, backbone, stages,
                                                   label_size):
    data = write_blocks(tmp_path)
    result = probe(data, stages=stages, label_size=label_size)(backbone)
    assert result['kmeans_miou'] == result['kmeans_k3_miou'] == 100.0
    assert result['linear_miou'] >= 95
    assert result['num_fit'] == result['num_eval'] == 12
    assert set(probe(data).result_keys()) <= set(result)


def test_backbone_left_as_it_was(tmp_path):
    backbone = LabelBackbone().train()
    backbone.bn.eval()  # a submodule in another mode than its parent
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    rng = torch.get_rng_state()
    probe(write_blocks(tmp_path), linear_iters=5)(backbone)
    assert backbone.training and not backbone.bn.training
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert backbone.scale.grad is None and backbone.scale.requires_grad
    assert torch.equal(torch.get_rng_state(), rng)
    backbone.bn.train()
    probe(write_blocks(tmp_path), linear_iters=5)(backbone)
    assert backbone.bn.training  # restored, not forced back to eval


def test_seeded_repeatable_and_several_seeds(tmp_path):
    data = write_blocks(tmp_path)
    noisy = nn.Conv2d(3, 16, CELL, CELL)  # random features: k-means varies
    torch.manual_seed(0)
    noisy.reset_parameters()
    dense = probe(data, linear_iters=5, num_clusters=(3, 6))
    first, again = dense(noisy), dense(noisy)
    assert {k: v for k, v in first.items() if 'seconds' not in k} == \
        {k: v for k, v in again.items() if 'seconds' not in k}
    assert 'kmeans_k6_miou' in first and first['kmeans_miou'] == first[
        'kmeans_k3_miou']
    both = dense.evaluate(noisy, seeds=[0, 1])
    assert set(both['per_seed']) == {0, 1}
    assert both['per_seed'][0]['linear_miou'] == first['linear_miou']
    mean = (both['per_seed'][0]['linear_miou'] +
            both['per_seed'][1]['linear_miou']) / 2
    assert both['linear_miou'] == pytest.approx(mean, abs=0.01)
    assert 'linear_miou_std' in both


def names(split):
    return [
        os.path.basename(sample['data_samples'].img_path)
        for sample in split.samples
    ]


def test_frame_selection(tmp_path):
    data = write_blocks(tmp_path)
    splits = probe(
        data, fit_select=['f00', 'f1'], eval_select=4,
        linear_iters=2).prepare()
    assert names(splits['fit']) == ['f00.png', 'f10.png', 'f11.png']
    assert names(
        splits['eval']) == ['f00.png', 'f04.png', 'f07.png',
                            'f11.png']  # evenly spaced
    two = probe([data, data], eval_select=[0, 12], linear_iters=2)
    assert names(two.prepare()['eval']) == ['f00.png', 'f00.png']
    with pytest.raises(ValueError, match='no frame of `fit_select`'):
        probe(data, fit_select=['zz']).prepare()
    with pytest.raises(ValueError, match='outside 0..11'):
        probe(data, eval_select=[12]).prepare()


@pytest.mark.parametrize('kwargs,match', [
    (dict(probes=('svm', )), 'probes'),
    (dict(input_size=(64, )), 'input_size'),
    (dict(stages=(3, 3)), 'stages'),
    (dict(linear_iters=0), 'linear_iters'),
    (dict(num_clusters=(1, )), 'num_clusters'),
    (dict(label_size='full'), 'label_size'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenseProbe(**kwargs)


def test_stage_outside_the_outputs(tmp_path):
    with pytest.raises(ValueError, match='stages'):
        probe(write_blocks(tmp_path), stages=(3, ))(LabelBackbone())


def stem(frame):
    dataset, index = frame
    return os.path.basename(dataset.get_data_info(index)['img_path'])[:-4]


def test_resnet_stages_it_does_not_output(tmp_path):
    """C3-C5 of a ResNet whose out_indices are (3, ) only: its out_indices
    are set for the probe and restored; the default stage is the last
    output (C5), whatever the out_indices."""
    from mmpretrain.models import ResNet
    data = write_blocks(tmp_path)
    torch.manual_seed(0)
    c5_only = ResNet(depth=18, out_indices=(3, ))
    every = ResNet(depth=18, out_indices=(0, 1, 2, 3))
    every.load_state_dict(c5_only.state_dict())
    kwargs = dict(linear_iters=3, input_size=(64, 48))
    concat = probe(data, stages=(1, 2, 3), **kwargs)(c5_only)
    assert c5_only.out_indices == (3, )
    assert 0 <= concat['linear_miou'] <= 100
    default = probe(data, stages=None, **kwargs)
    c5 = probe(data, stages=(3, ), **kwargs)
    same = [k for k in default.result_keys() if 'seconds' not in k]
    assert {k: default(c5_only)[k] for k in same} == \
        {k: c5(every)[k] for k in same}
    assert every.out_indices == (0, 1, 2, 3)
    with pytest.raises(ValueError, match='distinct stages of ResNet'):
        probe(data, stages=(-5, ), **kwargs)(c5_only)


def test_kmeans_same_as_the_clustering_probe(tmp_path):
    """The k-means probe is ClusteringProbe's protocol: same features (a
    LinearProbe's frozen ResNet), same seed, same mIoU."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS, MODELS
    from torch.utils.data import DataLoader

    from densesiam_mm.evaluation import ClusteringProbe
    data = write_blocks(tmp_path)
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        model = MODELS.build(
            dict(
                type='LinearProbe',
                data_preprocessor=dict(
                    type='SegDataPreProcessor',
                    mean=[0, 0, 0],
                    std=[1, 1, 1],
                    size=(48, 64)),
                backbone=dict(
                    type='ResNet', depth=18, out_indices=(0, 1, 2, 3)),
                decode_head=dict(
                    type='LinearProbeHead',
                    in_channels=256,
                    in_index=2,
                    num_classes=3)))
        dataset = DATASETS.build(
            dict(
                data,
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=(64, 48), keep_ratio=True),
                    dict(type='LoadCheckedSegAnnotations', num_classes=3),
                    dict(type='PackSegInputs')
                ]))
    loader = DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate)
    expected = ClusteringProbe(seeds=[1]).evaluate(model.eval(), loader)
    result = probe(
        data, stages=(2, ), probes=('kmeans', ), seed=1)(
            model.backbone)
    assert result['kmeans_miou'] == pytest.approx(
        expected['k=3']['mIoU'][0], abs=0.01)


def test_camvid_leave_one_drive_out():
    """Fit on drives 0001TP + 0016E5 (train and val), score on 0006R0."""
    shared_path('camvid', 'images', 'train')
    dense = DenseProbe(
        fit_dataset=[camvid_dataset('train'),
                     camvid_dataset('val')],
        fit_select=['0001TP', '0016E5'],
        eval_dataset=camvid_dataset('train'),
        eval_select=['0006R0'],
        input_size=(32, 24),
        stages=(0, ),
        kmeans_iters=3,
        probes=('kmeans', ))
    fit, evals = dense.frames('fit'), dense.frames('eval')
    assert len(fit) == 62 + 204 + 101
    assert {stem(f)[:6] for f in fit} == {'0001TP', '0016E5'}
    assert len({stem(f) for f in fit}) == len(fit)
    assert len(evals) == 101 and {stem(f)[:6] for f in evals} == {'0006R0'}
    assert len(dense.classes) == 11
    torch.manual_seed(0)
    result = dense(nn.Conv2d(3, 8, 8, 8))  # k-means only: fit not loaded
    assert result['num_fit'] == 0 and result['num_eval'] == 101
    assert 0 <= result['kmeans_miou'] <= 100
    assert 'linear_miou' not in result
