# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The correspondence DenseSiam depends on: same original-image points."""
import numpy as np
import pytest
import torch

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import MultiViewWithGeometry
from densesiam_mm.models.utils import (check_grid_size, intersection_boxes,
                                       sample_at_grid, view_correspondence)


def two_views(img, seed, scale=(96, 80), crop_ratio_range=(0.3, 1.0)):
    """Run the real two-view pipeline (crop with box + flip) on ``img``."""
    np.random.seed(seed)
    view = [
        dict(
            type='RandomResizedCropWithBox',
            scale=scale,
            crop_ratio_range=crop_ratio_range,
            interpolation='bilinear',
            backend='cv2'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    ]
    wrapper = MultiViewWithGeometry(transforms=[view], num_views=2)
    out = wrapper(dict(img=img.copy()))
    return out['img'], out['view_boxes'], out['view_flips']


def coordinate_image(height=150, width=200):
    """Float image whose channels are the x and y of each pixel centre."""
    ys, xs = np.meshgrid(
        np.arange(height, dtype=np.float32) + 0.5,
        np.arange(width, dtype=np.float32) + 0.5,
        indexing='ij')
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1)


def unresize(point_view, box, flip, view_size):
    """Map a view point (pixel coords of the view) back to the original."""
    (vw, vh) = view_size
    x, y = point_view
    if flip:
        x = vw - x
    return (box[0] + x / vw * (box[2] - box[0]),
            box[1] + y / vh * (box[3] - box[1]))


@pytest.mark.parametrize('seed', range(20))
def test_grid_points_map_back_to_same_original_points(seed):
    img = coordinate_image()
    (_, _), boxes, flips = two_views(img, seed)
    corr = view_correspondence(
        torch.from_numpy(boxes[None, 0]), torch.from_numpy(flips[None, 0]),
        torch.from_numpy(boxes[None, 1]), torch.from_numpy(flips[None, 1]), 7)
    if not corr.valid.item():
        return
    points = corr.points[0].reshape(-1, 2).numpy()
    for view in range(2):
        grid = getattr(corr, f'grid{view + 1}')[0].reshape(-1, 2).numpy()
        # grid_sample convention (align_corners=False): pixel = (g+1)/2*size
        view_pts = (grid + 1) / 2 * np.array([96, 80])
        back = np.array([
            unresize(p, boxes[view], flips[view], (96, 80)) for p in view_pts
        ])
        np.testing.assert_allclose(back, points, atol=1e-3)
    # the points lie inside both boxes
    for view in range(2):
        assert (points[:, 0] >= boxes[view, 0]).all()
        assert (points[:, 0] <= boxes[view, 2]).all()
        assert (points[:, 1] >= boxes[view, 1]).all()
        assert (points[:, 1] <= boxes[view, 3]).all()


def test_coordinate_image_sampled_equal_in_both_views():
    """Pixel values that encode their own position agree in both views."""
    img = coordinate_image()
    tested = 0
    flipped = set()
    for seed in range(40):
        (v1, v2), boxes, flips = two_views(img, seed)
        corr = view_correspondence(
            torch.from_numpy(boxes[None, 0]), torch.from_numpy(flips[None, 0]),
            torch.from_numpy(boxes[None, 1]), torch.from_numpy(flips[None, 1]),
            7)
        if not corr.valid.item():
            continue
        t1 = torch.from_numpy(v1.copy()).permute(2, 0, 1)[None]
        t2 = torch.from_numpy(v2.copy()).permute(2, 0, 1)[None]
        s1 = sample_at_grid(t1, corr.grid1)[0, :2]  # (2, K, K)
        s2 = sample_at_grid(t2, corr.grid2)[0, :2]
        expected = corr.points[0].permute(2, 0, 1)
        # sub-pixel agreement between views and with the original points
        assert (s1 - s2).abs().max() < 0.5, seed
        assert (s1 - expected).abs().max() < 0.5, seed
        tested += 1
        flipped.update(flips.tolist())
    assert tested >= 20
    assert flipped == {True, False}


def test_sampling_on_feature_maps_of_any_resolution():
    """The grids are resolution free: a stride-8 map gives the same values."""
    img = coordinate_image()
    (v1, v2), boxes, flips = two_views(img, seed=3, scale=(128, 128))
    corr = view_correspondence(
        torch.from_numpy(boxes[None, 0]), torch.from_numpy(flips[None, 0]),
        torch.from_numpy(boxes[None, 1]), torch.from_numpy(flips[None, 1]), 5)
    assert corr.valid.all()
    # average pooling by 8 is a linear map that keeps linear ramps linear
    f1 = torch.nn.functional.avg_pool2d(
        torch.from_numpy(v1.copy()).permute(2, 0, 1)[None], 8)
    f2 = torch.nn.functional.avg_pool2d(
        torch.from_numpy(v2.copy()).permute(2, 0, 1)[None], 8)
    s1 = sample_at_grid(f1, corr.grid1)[0, :2]
    s2 = sample_at_grid(f2, corr.grid2)[0, :2]
    inner = slice(1, -1)  # border samples see the clamped edge
    assert (s1[:, inner, inner] - s2[:, inner, inner]).abs().max() < 1.0


def test_no_overlap_is_invalid_and_finite():
    boxes1 = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
    boxes2 = torch.tensor([[20., 20., 30., 30.], [5., 5., 15., 15.]])
    inter, valid = intersection_boxes(boxes1, boxes2)
    assert valid.tolist() == [False, True]
    assert inter[1].tolist() == [5., 5., 10., 10.]
    corr = view_correspondence(boxes1, torch.tensor([False, True]), boxes2,
                               torch.tensor([True, False]), 3)
    assert torch.isfinite(corr.grid1).all() and torch.isfinite(
        corr.grid2).all()
    # touching boxes (zero-area intersection) are invalid too
    _, valid = intersection_boxes(
        torch.tensor([[0., 0., 10., 10.]]), torch.tensor([[10., 0., 20.,
                                                           10.]]))
    assert not valid.item()


def test_flip_mirrors_grid():
    box = torch.tensor([[0., 0., 100., 50.]])
    corr = view_correspondence(box, torch.tensor([False]), box,
                               torch.tensor([True]), 4)
    torch.testing.assert_close(corr.grid1[..., 0], -corr.grid2[..., 0])
    torch.testing.assert_close(corr.grid1[..., 1], corr.grid2[..., 1])


@pytest.mark.parametrize('bad', [0, -1, 2.5, None, True])
def test_grid_size_must_be_positive_int(bad):
    with pytest.raises(ValueError, match='grid_size'):
        check_grid_size(bad)
