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


def test_blocks_reach_the_last_row_and_column():
    """The block corner's upper bound is inclusive (the authors' generator):
    over 4,000 masks (14 x 14, 118 masked) the last row and column are
    masked as often as the first ones. Measured (seed 0): first row 0.250,
    last row 0.263, first column 0.263, last column 0.266 per patch; with
    the exclusive bound (mmpretrain's BEiTMaskGenerator, same seed and
    settings, no top-up) 0.334, 0.000, 0.341, 0.000."""
    out = masks(
        0, 4000, input_size=14, num_masking_patches=118, min_num_patches=16)
    first_row, last_row = out[:, 0].mean(), out[:, -1].mean()
    first_col, last_col = out[:, :, 0].mean(), out[:, :, -1].mean()
    print(f'first row {first_row:.3f}, last row {last_row:.3f}, first '
          f'column {first_col:.3f}, last column {last_col:.3f}')
    for edge in (first_row, last_row, first_col, last_col):
        assert 0.2 < edge < 0.33
    assert abs(last_row - first_row) < 0.03
    assert abs(last_col - first_col) < 0.03
