# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/dataset_converters/cocostuff27.py on a fake COCO-Stuff folder."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from ..conftest import load_script, shared_path


def load_converter():
    # registered: picklable for --nproc > 1
    return load_script(
        'tools/dataset_converters/cocostuff27.py',
        'cocostuff27_converter',
        register=True)


# fine COCO-Stuff ids -> the expected coarse ids, written out by hand from
# fine_to_coarse.json: person 0 -> person-things 9, bicycle 1 -> vehicle 11,
# banner 91 -> textile 17, wood 181 -> solid 24, wall-brick 170 -> wall 18,
# ceiling-other 101 -> ceiling 12, sky-other 156 -> sky 23,
# fork 47 -> kitchen 5, 255 -> 255
FINE = {
    'train2017': {
        '000000000025': [[0, 1, 255], [91, 181, 170]],
        '000000000030': [[101, 101, 156], [47, 255, 0]],
    },
    'val2017': {
        '000000000139': [[156, 0, 181, 255]],
    },
}
COARSE = {
    '000000000025': [[9, 11, 255], [17, 24, 18]],
    '000000000030': [[12, 12, 23], [5, 255, 9]],
    '000000000139': [[23, 9, 24, 255]],
}


def make_fake_coco(root):
    """COCO-like download plus its curated lists (with one extra image that
    is not in the lists and must be left alone)."""
    lists = root / 'lists'
    lists.mkdir(parents=True)
    for split, maps in FINE.items():
        (root / 'coco' / split).mkdir(parents=True)
        (root / 'coco' / 'stuffthingmaps_trainval2017' /
         split).mkdir(parents=True)
        for img_id, fine in list(maps.items()) + [('000000999999', [[0]])]:
            fine = np.array(fine, np.uint8)
            rgb = np.full((*fine.shape, 3), 128, np.uint8)
            Image.fromarray(rgb).save(root / 'coco' / split / f'{img_id}.jpg')
            Image.fromarray(fine).save(root / 'coco' /
                                       'stuffthingmaps_trainval2017' / split /
                                       f'{img_id}.png')
        (lists / f'curated_{split}.txt').write_text('\n'.join(maps) + '\n')
    return str(root / 'coco'), str(lists)


def read_png(path):
    return np.array(Image.open(path))


def test_converter_writes_expected_maps_and_is_idempotent(tmp_path):
    conv = load_converter()
    coco, lists = make_fake_coco(tmp_path)
    out = str(tmp_path / 'out')
    stats = conv.convert(coco, out, lists_dir=lists, check_md5=False)
    assert stats == {
        'train2017': dict(converted=2, skipped=0),
        'val2017': dict(converted=1, skipped=0)
    }
    for split, maps in FINE.items():
        ann_dir = osp.join(out, 'annotations', split)
        assert sorted(os.listdir(ann_dir)) == sorted(f'{i}.png' for i in maps)
        for img_id in maps:
            label = read_png(osp.join(ann_dir, f'{img_id}.png'))
            assert label.dtype == np.uint8
            np.testing.assert_array_equal(label, COARSE[img_id])
            img = osp.join(out, 'images', split, f'{img_id}.jpg')
            assert osp.realpath(img) == osp.realpath(
                osp.join(coco, split, f'{img_id}.jpg'))
        with open(osp.join(out, f'curated_{split}.txt')) as f:
            assert f.read().split() == list(maps)

    # re-run: nothing rewritten
    label = osp.join(out, 'annotations', 'train2017', '000000000025.png')
    mtime = os.stat(label).st_mtime_ns
    again = conv.convert(coco, out, lists_dir=lists, check_md5=False, nproc=2)
    assert again == {
        'train2017': dict(converted=0, skipped=2),
        'val2017': dict(converted=0, skipped=1)
    }
    assert os.stat(label).st_mtime_ns == mtime

    # a broken output (wrong size) and a missing one are redone, only they
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(label)
    os.remove(osp.join(out, 'annotations', 'val2017', '000000000139.png'))
    fixed = conv.convert(coco, out, lists_dir=lists, check_md5=False)
    assert fixed == {
        'train2017': dict(converted=1, skipped=1),
        'val2017': dict(converted=1, skipped=0)
    }
    np.testing.assert_array_equal(read_png(label), COARSE['000000000025'])


def test_converter_lists_everything_missing(tmp_path):
    conv = load_converter()
    coco, lists = make_fake_coco(tmp_path)
    os.rename(osp.join(coco, 'val2017'), osp.join(coco, 'val2017_moved'))
    os.remove(
        osp.join(coco, 'stuffthingmaps_trainval2017', 'train2017',
                 '000000000030.png'))
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError) as err:
        conv.convert(coco, str(out), lists_dir=lists, check_md5=False)
    msg = str(err.value)
    assert osp.join(coco, 'val2017') + ' (COCO images of val2017)' in msg
    assert osp.join('train2017', '000000000030.png') in msg
    assert not out.exists()  # nothing written

    # the command line reports it as an error message, not a traceback
    with pytest.raises(SystemExit, match='missing inputs'):
        conv.main([coco, '-o', str(out), '--lists', lists, '--skip-md5'])


def test_converter_checks_md5_and_fine_ids(tmp_path):
    conv = load_converter()
    coco, lists = make_fake_coco(tmp_path)
    with pytest.raises(ValueError, match='curated_train2017.txt: md5'):
        conv.convert(coco, str(tmp_path / 'out'), lists_dir=lists)

    bad = osp.join(coco, 'stuffthingmaps_trainval2017', 'val2017',
                   '000000000139.png')
    Image.fromarray(np.array([[3, 200, 255, 0]], np.uint8)).save(bad)
    with pytest.raises(ValueError, match='000000000139.png: fine ids \\[200'):
        conv.convert(
            coco,
            str(tmp_path / 'out'),
            lists_dir=lists,
            splits=['val2017'],
            check_md5=False)


def test_shared_curated_lists_pass_md5():
    conv = load_converter()
    lists = shared_path('cocostuff27')
    assert len(conv.read_list(lists, 'val2017', check_md5=True)) == 2175
    assert len(conv.read_list(lists, 'train2017', check_md5=True)) == 49629
