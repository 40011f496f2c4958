# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The drawn PixSim points are the same original-image pixel in both views
(checked on the drawn coordinates, with an image that encodes its own
pixel coordinates)."""
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.config import Config

from tests.conftest import config_path, load_script

TOOL = 'tools/analysis/visualize_correspondence.py'


@pytest.fixture(scope='module')
def coordinate_image(tmp_path_factory):
    """240x180 PNG whose red channel is the column x, green the row y."""
    ys, xs = np.mgrid[0:180, 0:240]
    rgb = np.stack([xs, ys, np.zeros_like(xs)], -1).astype(np.uint8)
    path = str(tmp_path_factory.mktemp('img') / 'coords.png')
    mmcv.imwrite(rgb[..., ::-1], path)  # BGR on disk
    return path


def geometry_only_config():
    """The DenseSiam CamVid config with its photometric augmentations off
    (crop + flip only), so the view pixels keep their coordinate code."""
    cfg = Config.fromfile(
        config_path('densesiam',
                    'densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py'))
    multi_view = cfg.train_dataloader.dataset.pipeline[1]
    view = multi_view.transforms[0]
    multi_view.transforms = [[
        t for t in view if t.type in ('RandomResizedCropWithBox', 'RandomFlip')
    ]]
    return cfg


def decode(view_bgr, xy):
    """Original ``(x, y)`` encoded at view pixel coordinates ``xy``."""
    cols = np.clip(np.floor(xy[:, 0]).astype(int), 0, view_bgr.shape[1] - 1)
    rows = np.clip(np.floor(xy[:, 1]).astype(int), 0, view_bgr.shape[0] - 1)
    pixels = view_bgr[rows, cols].astype(np.float64)
    # a pixel's code is its index; its centre is at index + 0.5
    return np.stack([pixels[:, 2], pixels[:, 1]], -1) + 0.5


def test_drawn_points_are_the_same_original_pixel_in_both_views(
        coordinate_image, tmp_path):
    tool = load_script(TOOL)
    cfg = geometry_only_config()
    flips_seen = set()
    for seed in range(6):
        results = tool.make_views(coordinate_image, cfg, seed)
        out = str(tmp_path / f'corr{seed}.png')
        points = tool.draw(results, 7, out)
        assert osp.isfile(out)
        if not points['valid']:
            continue
        flips_seen.update(bool(f) for f in results['view_flips'])
        assert points['original'].shape == (49, 2)
        for view_index, name in enumerate(('view1', 'view2')):
            view = results['img'][view_index]
            # one view pixel covers box_size / 128 original pixels
            box = results['view_boxes'][view_index]
            tolerance = 1.0 + (box[2] - box[0]) / view.shape[1]
            decoded = decode(view, points[name])
            np.testing.assert_allclose(
                decoded,
                points['original'],
                atol=tolerance,
                err_msg=f'seed {seed} {name}')
            # the canvas position is the same point, placed on its panel
            panel = points['panels'][name]
            assert panel['scale'] == pytest.approx(180 / view.shape[0])
    assert flips_seen == {True, False}, 'flipped and unflipped views'


def test_points_follow_the_flip():
    """A flipped view shows the same original point mirrored."""
    tool = load_script(TOOL)
    boxes = np.array([[10, 20, 110, 100], [10, 20, 110, 100]], np.float32)
    plain = tool.correspondence_points(boxes, np.array([False, True]),
                                       [(64, 64), (64, 64)], 3)
    np.testing.assert_allclose(
        plain['view2'][:, 0], 64 - plain['view1'][:, 0], atol=1e-4)
    np.testing.assert_allclose(plain['view2'][:, 1], plain['view1'][:, 1])
    # the middle point of a 3x3 grid is the box centre
    np.testing.assert_allclose(plain['original'][4], [60, 60])
    np.testing.assert_allclose(plain['view1'][4], [32, 32])
