# Copyright (c) densesiam_mm contributors. All rights reserved.
"""ExactCountBlockMask: BEiT blocks, exactly N masked, seeded."""
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmpretrain.registry import TRANSFORMS

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import ExactCountBlockMask


def masks(seed, num, **kwargs):
    np.random.seed(seed)
    gen = ExactCountBlockMask(**kwargs)
    return np.stack([gen({})['mask'] for _ in range(num)])


def test_exactly_118_of_196_for_every_image():
    out = masks(
        0, 200, input_size=14, num_masking_patches=118, min_num_patches=16)
    assert out.shape == (200, 14, 14) and out.dtype == np.bool_
    assert (out.reshape(200, -1).sum(1) == 118).all()
    # blocks, not salt-and-pepper: most masked patches have a masked
    # 4-neighbour (a random 60 % mask gives about 84 %, blocks about 99 %)
    padded = np.pad(out, ((0, 0), (1, 1), (1, 1)))
    neighbour = (
        padded[:, :-2, 1:-1] | padded[:, 2:, 1:-1]
        | padded[:, 1:-1, :-2] | padded[:, 1:-1, 2:])
    assert (neighbour & out).sum() / out.sum() > 0.95


def test_same_count_across_a_collated_batch():
    gen = TRANSFORMS.build(
        dict(
            type='ExactCountBlockMask',
            input_size=8,
            num_masking_patches=38,
            min_num_patches=4))
    pack = TRANSFORMS.build(dict(type='PackInputs'))
    np.random.seed(1)
    batch = default_collate([
        pack(gen(dict(img=np.zeros((8, 8, 3), np.uint8)))) for _ in range(16)
    ])
    stacked = torch.stack([s.mask for s in batch['data_samples']])
    assert stacked.shape == (16, 8, 8)
    assert (stacked.flatten(1).sum(1) == 38).all()


def test_seeded():
    a = masks(5, 8, input_size=14, num_masking_patches=118)
    b = masks(5, 8, input_size=14, num_masking_patches=118)
    c = masks(6, 8, input_size=14, num_masking_patches=118)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_top_up_when_no_block_fits():
    # min block 16 in a 5x5 grid with 24 to mask: blocks soon stop fitting
    out = masks(
        0, 20, input_size=5, num_masking_patches=24, min_num_patches=16)
    assert (out.reshape(20, -1).sum(1) == 24).all()


def test_bad_count_is_refused():
    with pytest.raises(ValueError, match='num_masking_patches'):
        ExactCountBlockMask(input_size=14, num_masking_patches=196)
