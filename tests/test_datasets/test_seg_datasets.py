# Copyright (c) densesiam_mm contributors. All rights reserved.
"""CamVid / COCO-Stuff-27 datasets and the checked label loading."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets import CamVidDataset, COCOStuff27Dataset
from densesiam_mm.datasets.cocostuff27 import FINE_TO_COARSE
from densesiam_mm.evaluation import HungarianIoUMetric
from ..conftest import shared_path

TEST_PIPELINE = [
    dict(type='LoadImageFromFile', _scope_='mmseg'),
    dict(type='LoadCheckedSegAnnotations', _scope_='mmseg'),
    dict(type='PackSegInputs', _scope_='mmseg'),
]


def camvid(root, split='val', **kwargs):
    return CamVidDataset(
        data_root=root,
        data_prefix=dict(
            img_path=f'images/{split}', seg_map_path=f'labels/{split}'),
        pipeline=TEST_PIPELINE,
        test_mode=True,
        **kwargs)


def test_camvid_real_data_and_unlabelled_ignored():
    root = shared_path('camvid')
    assert len(camvid(root, 'train')) == 367
    dataset = camvid(root)
    assert len(dataset) == 101
    assert dataset.metainfo['thing_classes'] == ('Car', 'Pedestrian',
                                                 'Bicyclist')
    # find a frame with unlabelled (11) pixels
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        raw = np.array(Image.open(info['seg_map_path']))
        if (raw == 11).any():
            break
    else:
        pytest.fail('no CamVid val frame has label 11')
    out = dataset[idx]
    assert out['inputs'].shape == (3, 360, 480)
    loaded = out['data_samples'].gt_sem_seg.data[0].numpy()
    assert loaded.shape == raw.shape == (360, 480)
    np.testing.assert_array_equal(loaded[raw == 11], 255)
    np.testing.assert_array_equal(loaded[raw != 11], raw[raw != 11])

    # a perfect (permuted) prediction of the loaded labels scores 100 mIoU,
    # with CamVid's thing classes taken from the dataset
    metric = HungarianIoUMetric()
    metric.dataset_meta = dataset.metainfo
    perm = torch.tensor([3, 7, 0, 10, 1, 9, 2, 8, 4, 6, 5])
    gt = out['data_samples'].gt_sem_seg.data
    pred = perm[torch.where(gt == 255, 0, gt).long()]
    metric.process(
        {}, [dict(gt_sem_seg=dict(data=gt), pred_sem_seg=dict(data=pred))])
    res = metric.evaluate(1)
    assert res['aAcc'] == 100.0 and res['mIoU'] == 100.0
    assert 'mIoU_thing' in res and 'mIoU_stuff' in res


def test_camvid_split_file(tmp_path):
    root = shared_path('camvid')
    stems = ['0016E5_07959', '0016E5_07961']
    split = tmp_path / 'val_two.txt'
    split.write_text('\n'.join(stems) + '\n')
    dataset = camvid(root, ann_file=str(split))
    assert [
        osp.basename(dataset.get_data_info(i)['img_path']) for i in range(2)
    ] == [s + '.jpg' for s in stems]

    missing = tmp_path / 'no_such_split.txt'
    with pytest.raises(FileNotFoundError, match='no_such_split.txt'):
        camvid(root, ann_file=str(missing))


def make_fake_pair(root, name, img_hw, label):
    (root / 'images' / 'val').mkdir(parents=True, exist_ok=True)
    (root / 'labels' / 'val').mkdir(parents=True, exist_ok=True)
    img = np.random.RandomState(0).randint(0, 255, (*img_hw, 3), np.uint8)
    Image.fromarray(img).save(root / 'images' / 'val' / f'{name}.jpg')
    Image.fromarray(np.asarray(label, np.uint8)).save(root / 'labels' / 'val' /
                                                      f'{name}.png')


def test_bad_label_maps_name_the_file(tmp_path):
    label = np.zeros((6, 8), np.uint8)
    label[0, 0] = 11  # unlabelled: fine

    make_fake_pair(tmp_path / 'ok', 'good', (6, 8), label)
    sample = camvid(str(tmp_path / 'ok'))[0]
    assert sample['data_samples'].gt_sem_seg.data[0, 0, 0] == 255

    make_fake_pair(tmp_path / 'size', 'short', (6, 8), label[:5])
    with pytest.raises(ValueError, match=r'short\.png is 8x5.*is 8x6'):
        camvid(str(tmp_path / 'size'))[0]

    bad = label.copy()
    bad[2, 3] = 12
    make_fake_pair(tmp_path / 'ids', 'outside', (6, 8), bad)
    with pytest.raises(ValueError, match=r'outside\.png has class ids \[12\]'):
        camvid(str(tmp_path / 'ids'))[0]

    with pytest.raises(FileNotFoundError, match='labels/nowhere'):
        CamVidDataset(
            data_root=str(tmp_path / 'ok'),
            data_prefix=dict(
                img_path='images/val', seg_map_path='labels/nowhere'))


def test_cocostuff27_dataset(tmp_path):
    (tmp_path / 'images' / 'val2017').mkdir(parents=True)
    (tmp_path / 'annotations' / 'val2017').mkdir(parents=True)
    label = np.full((5, 7), 255, np.uint8)
    label[:, :3] = 26
    label[:2, :] = 0
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(  # grayscale image
        tmp_path / 'images' / 'val2017' / '000000000139.jpg')
    Image.fromarray(label).save(tmp_path / 'annotations' / 'val2017' /
                                '000000000139.png')
    (tmp_path / 'curated_val2017.txt').write_text('000000000139\n')
    dataset = COCOStuff27Dataset(
        data_root=str(tmp_path),
        ann_file='curated_val2017.txt',
        data_prefix=dict(
            img_path='images/val2017', seg_map_path='annotations/val2017'),
        pipeline=TEST_PIPELINE,
        test_mode=True)
    meta = dataset.metainfo
    assert len(meta['classes']) == len(meta['palette']) == 27
    assert meta['thing_classes'] == meta['classes'][:12]
    out = dataset[0]
    assert out['inputs'].shape == (3, 5, 7)  # grayscale decoded to 3 ch
    np.testing.assert_array_equal(out['data_samples'].gt_sem_seg.data[0],
                                  label)


def test_cocostuff27_facts_match_shared_json():
    with open(shared_path('cocostuff27', 'fine_to_coarse.json')) as f:
        facts = json.load(f)
    assert list(COCOStuff27Dataset.METAINFO['classes']) == \
        facts['coarse_names']
    assert list(FINE_TO_COARSE) == [
        facts['fine_index_to_coarse_index'][str(i)] for i in range(182)
    ]
