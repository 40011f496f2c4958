# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Dense correspondence and the authors' nested-crop views: every feature
cell of view 1 and its sample in view 2 show the same original pixel."""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import NestedCropViews, ResizeCenterCrop
from densesiam_mm.datasets.transforms.nested_crop_views import nested_crop_box
from densesiam_mm.datasets.transforms.resize_center_crop import \
    center_crop_offset
from densesiam_mm.models.utils import (dense_correspondence,
                                       dense_correspondence_from_samples,
                                       sample_at_grid)


def coordinate_image(size):
    """Float image whose channels are x, y of each pixel centre, and 0."""
    ys, xs = np.meshgrid(
        np.arange(size, dtype=np.float32) + 0.5,
        np.arange(size, dtype=np.float32) + 0.5,
        indexing='ij')
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1)


def nested_views(img, seed, view_size=48):
    np.random.seed(seed)
    views = NestedCropViews(view_size, scale=(0.5, 1.0), backend='cv2')
    return views(dict(img=img.copy()))


@pytest.mark.parametrize('seed', range(12))
def test_every_aligned_cell_shows_the_same_original_point(seed):
    """Views of an image of its own coordinates: sampling view 1 at
    ``grid1`` and view 2 at ``grid2`` gives the same original (x, y) at
    every cell of a stride-4 map of view 1, flips included, to 0.05 px."""
    size, view_size = 128, 48
    out = nested_views(coordinate_image(size), seed, view_size)
    boxes = torch.from_numpy(out['view_boxes'])[None]  # (1, 2, 4)
    flips = torch.from_numpy(out['view_flips'])[None]
    feat_size = (view_size // 4, view_size // 4)
    corr = dense_correspondence(boxes[:, 0], flips[:, 0], boxes[:, 1],
                                flips[:, 1], feat_size)
    assert corr.grid1.shape == (1, 12, 12, 2)
    assert corr.point_valid.all()  # view 1 lies inside view 2
    # the points, by hand: cell centre -> (mirrored) view coordinate -> box
    x1, y1, x2, y2 = out['view_boxes'][0]
    j = np.arange(12) + 0.5
    u = 1 - j / 12 if out['view_flips'][0] else j / 12
    np.testing.assert_allclose(
        corr.points[0, 0, :, 0].numpy(), x1 + u * (x2 - x1), atol=1e-4)
    np.testing.assert_allclose(
        corr.points[0, :, 0, 1].numpy(), y1 + j / 12 * (y2 - y1), atol=1e-4)
    # and the pixels there, in both views
    seen = []
    for view, grid in zip(out['img'], (corr.grid1, corr.grid2)):
        image = torch.from_numpy(view.transpose(2, 0, 1).copy())[None]
        seen.append(sample_at_grid(image, grid)[0, :2])  # (2, 12, 12)
    points = corr.points[0].permute(2, 0, 1)
    for coords in seen:
        torch.testing.assert_close(coords, points, atol=0.05, rtol=0)


def test_flips_occur_and_a_flipped_cell_maps_mirrored():
    flips = [
        bool(nested_views(coordinate_image(64), s)['view_flips'][0])
        for s in range(12)
    ]
    assert any(flips) and not all(flips)
    # hand example: view 1 = box (10, 20, 50, 60) flipped, 2 x 2 map
    corr = dense_correspondence(
        torch.tensor([[10., 20., 50., 60.]]), torch.tensor([True]),
        torch.tensor([[0., 0., 100., 100.]]), torch.tensor([False]), (2, 2))
    # cell (0, 0) is the view's top left = the box's top right quarter
    torch.testing.assert_close(corr.points[0, 0, 0], torch.tensor([40., 30.]))
    torch.testing.assert_close(corr.grid2[0, 0, 0], torch.tensor([-0.2, -0.4]))
    torch.testing.assert_close(corr.grid1[0, 0, 0], torch.tensor([-0.5, -0.5]))


def test_dense_cells_outside_view_2_are_masked_and_no_overlap_is_refused():
    # view 1 sticks out of view 2 on the right: the right half is invalid
    corr = dense_correspondence(
        torch.tensor([[50., 0., 150., 100.]]), torch.tensor([False]),
        torch.tensor([[0., 0., 100., 100.]]), torch.tensor([False]), (2, 4))
    assert corr.point_valid[0].tolist() == [[True, True, False, False]] * 2
    assert corr.valid.tolist() == [True]
    # views that cannot overlap: the error names the field
    sample = SegDataSample()
    sample.set_field(
        torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]]), 'view_boxes')
    sample.set_field(torch.tensor([False, False]), 'view_flips')
    with pytest.raises(ValueError, match="correspondence='dense'"):
        dense_correspondence_from_samples([sample], (4, 4), 'cpu')


@pytest.mark.parametrize('seed', range(6))
def test_nested_crop_view_protocol(seed):
    """View 2 = the whole square; view 1 = a square crop of side
    int(s * S), s in [0.5, 1], at round((S - side) * U) offsets, inside
    view 2, flipped (only view 1) with p = 0.5; both at view_size."""
    size = 100
    img = np.random.RandomState(seed).randint(0, 255, (size, size, 3),
                                              np.uint8)
    np.random.seed(seed)
    expected_s, off_x, off_y = (np.random.uniform(0.5,
                                                  1.0), np.random.uniform(),
                                np.random.uniform())
    expected_flip = np.random.rand() < 0.5
    out = nested_views(img, seed, view_size=40)
    box1, box2 = out['view_boxes']
    assert box2.tolist() == [0, 0, size, size]
    side = int(expected_s * size)
    left, top = round((size - side) * off_x), round((size - side) * off_y)
    assert box1.tolist() == [left, top, left + side, top + side]
    assert 50 <= side <= size
    assert out['view_flips'].tolist() == [expected_flip, False]
    assert all(v.shape == (40, 40, 3) for v in out['img'])
    # no photometric transform: view 1 is the resized (flipped) crop
    import mmcv
    crop = mmcv.imresize(
        img[top:top + side, left:left + side], (40, 40), backend='cv2')
    if expected_flip:
        crop = crop[:, ::-1]
    np.testing.assert_array_equal(out['img'][0], crop)
    np.testing.assert_array_equal(out['img'][1],
                                  mmcv.imresize(img, (40, 40), backend='cv2'))
    assert nested_crop_box(100, 0.5, 1.0, 0.0) == (50, 0, 100, 50)


def test_replayed_views_are_the_same_every_load():
    with DefaultScope.overwrite_default_scope('mmseg'):
        views = NestedCropViews(
            32,
            transforms=[
                dict(
                    type='RandomApply',
                    prob=0.8,
                    transforms=[
                        dict(type='mmpretrain.ColorJitter', brightness=0.3)
                    ])
            ],
            replay_seed=3)
        img = np.random.RandomState(0).randint(0, 255, (64, 64, 3), np.uint8)
        first = views(dict(img=img.copy(), sample_idx=5))
        np.random.seed(123)  # other draws in between do not matter
        again = views(dict(img=img.copy(), sample_idx=5))
        other = views(dict(img=img.copy(), sample_idx=6))
    for a, b in zip(first['img'], again['img']):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first['view_boxes'], again['view_boxes'])
    assert not np.array_equal(first['view_boxes'], other['view_boxes'])


def test_bad_nested_view_settings_name_the_field():
    with pytest.raises(ValueError, match='`scale`'):
        NestedCropViews(32, scale=(0., 1.))
    with pytest.raises(ValueError, match='`scale`'):
        NestedCropViews(32, scale=(0.5, 1.5))
    with pytest.raises(ValueError, match='square'):
        NestedCropViews(32)(dict(img=np.zeros((10, 20, 3), np.uint8)))
    with pytest.raises(KeyError, match='sample_idx'):
        NestedCropViews(
            32, replay_seed=0)(
                dict(img=np.zeros((10, 10, 3), np.uint8)))


def test_resize_center_crop_is_pil_bilinear_and_round_based():
    assert center_crop_offset(5, 2) == 2  # round(1.5); mmcv floors to 1
    img = np.random.RandomState(0).randint(0, 255, (360, 480, 3), np.uint8)
    seg = np.arange(360 * 480, dtype=np.int64).reshape(360, 480) % 12
    out = ResizeCenterCrop(192)(dict(img=img, gt_seg_map=seg.astype(np.uint8)))
    assert out['img'].shape == (192, 192, 3)
    assert out['gt_seg_map'].shape == (192, 192)
    assert out['crop_box'] == (32, 0, 224, 192)  # long side 256
    from PIL import Image
    pil = np.asarray(
        Image.fromarray(img[..., ::-1]).resize((256, 192),
                                               Image.BILINEAR))[..., ::-1]
    np.testing.assert_array_equal(out['img'], pil[:, 32:224])
