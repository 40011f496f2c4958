# Copyright (c) densesiam_mm contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import (MultiViewWithGeometry,
                                              RandomResizedCropWithBox)
from ..conftest import DEMO_DATA

VIEW = [
    dict(type='RandomResizedCropWithBox', scale=64, crop_ratio_range=(0.2, 1)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]


def pipeline(view=VIEW):
    from mmpretrain.registry import TRANSFORMS
    return Compose([
        TRANSFORMS.build(dict(type='LoadImageFromFile', color_type='color')),
        TRANSFORMS.build(
            dict(type='MultiViewWithGeometry', num_views=2,
                 transforms=[view])),
        TRANSFORMS.build(
            dict(
                type='PackInputs', algorithm_keys=['view_boxes',
                                                   'view_flips'])),
    ])


def test_box_matches_crop_pixels():
    img = np.random.RandomState(0).randint(0, 255, (50, 70, 3), np.uint8)
    crop = RandomResizedCropWithBox(scale=(20, 30), crop_ratio_range=(0.3, 1))
    for seed in range(10):
        np.random.seed(seed)
        out = crop(dict(img=img.copy()))
        x1, y1, x2, y2 = out['view_box']
        assert 0 <= x1 < x2 <= 70 and 0 <= y1 < y2 <= 50
        assert out['img'].shape == (20, 30, 3)
        # the view is the box resized: compare with cropping by the box
        ref = cv2.resize(img[int(y1):int(y2), int(x1):int(x2)], (30, 20))
        np.testing.assert_array_equal(out['img'], ref)


def test_composed_crops_stay_in_wrapper_coordinates():
    img = np.zeros((100, 100, 3), np.uint8)
    view = [
        dict(
            type='RandomResizedCropWithBox',
            scale=50,
            crop_ratio_range=(0.5, 0.5),
            aspect_ratio_range=(1, 1)),
        dict(
            type='RandomResizedCropWithBox',
            scale=10,
            crop_ratio_range=(0.25, 0.25),
            aspect_ratio_range=(1, 1)),
    ]
    out = MultiViewWithGeometry([view], 1)(dict(img=img))
    x1, y1, x2, y2 = out['view_boxes'][0]
    # 0.5 of the area then 0.25 of that: side 100 * sqrt(.5) * .5 ~ 35.4
    assert x2 - x1 == pytest.approx(71 / 50 * 25, abs=1e-4)
    assert 0 <= x1 and x2 <= 100


def test_packed_samples_carry_both_views():
    out = pipeline()(dict(img_path=osp.join(DEMO_DATA, 'coffee.jpg')))
    assert len(out['inputs']) == 2
    assert out['inputs'][0].shape == (3, 64, 64)
    sample = out['data_samples']
    assert sample.view_boxes.shape == (2, 4)
    assert sample.view_flips.shape == (2, )


@pytest.mark.parametrize('mode', ['L', 'RGBA', 'RGB16'])
def test_grayscale_rgba_and_16bit_images_load_as_rgb(tmp_path, mode):
    path = str(tmp_path / f'img_{mode}.png')
    if mode == 'L':
        cv2.imwrite(path, np.full((40, 50), 128, np.uint8))
    elif mode == 'RGBA':
        cv2.imwrite(path, np.full((40, 50, 4), 200, np.uint8))
    else:
        cv2.imwrite(path, np.full((40, 50, 3), 40000, np.uint16))
    out = pipeline()(dict(img_path=path))
    assert out['inputs'][0].shape == (3, 64, 64)


def test_image_smaller_than_crop_is_upsampled(tmp_path):
    path = str(tmp_path / 'tiny.png')
    cv2.imwrite(path, np.full((3, 2, 3), 7, np.uint8))
    out = pipeline()(dict(img_path=path))
    assert out['inputs'][0].shape == (3, 64, 64)
    boxes = out['data_samples'].view_boxes
    assert (boxes[:, 2] <= 2).all() and (boxes[:, 3] <= 3).all()


def test_unreadable_image_names_the_file(tmp_path):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(b'not a jpeg at all')
    with pytest.raises(Exception, match='broken.jpg'):
        pipeline()(dict(img_path=str(path)))


def test_flip_before_crop_is_refused():
    view = [
        dict(type='RandomFlip', prob=1.0, direction='horizontal'),
        dict(type='RandomResizedCropWithBox', scale=32),
    ]
    with pytest.raises(ValueError, match='RandomFlip after the crop'):
        MultiViewWithGeometry([view], 2)(
            dict(img=np.zeros((40, 40, 3), np.uint8)))


def test_vertical_flip_is_refused():
    view = [
        dict(type='RandomResizedCropWithBox', scale=32),
        dict(type='RandomFlip', prob=1.0, direction='vertical'),
    ]
    with pytest.raises(ValueError, match='flip_direction'):
        MultiViewWithGeometry([view], 2)(
            dict(img=np.zeros((40, 40, 3), np.uint8)))
