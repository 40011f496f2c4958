# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM's relative position code against exact per-patch geometry."""
import itertools
import math

import numpy as np
import pytest
import torch

from densesiam_mm.models.utils import (absolute_position_code,
                                       relative_position_code,
                                       sincos_position_code,
                                       view_patch_positions)

G = 14
D = 32


def exact_positions(box1, flip1, box2, flip2, g=G):
    """Per patch, by hand: view-2 displayed patch (r, c) -> its centre in
    original pixels -> its position in view 1, in view-1 patch units."""
    x11, y11, x21, y21 = box1
    x12, y12, x22, y22 = box2
    w1, h1, w2, h2 = x21 - x11, y21 - y11, x22 - x12, y22 - y12
    rows = np.zeros((g, g))
    cols = np.zeros((g, g))
    for r in range(g):
        for c in range(g):
            crop_col = g - 1 - c if flip2 else c  # flipped view shows it
            x = x12 + (crop_col + 0.5) * w2 / g
            y = y12 + (r + 0.5) * h2 / g
            u = (x - x11) / w1
            if flip1:
                u = 1 - u
            cols[r, c] = u * g - 0.5
            rows[r, c] = (y - y11) / h1 * g - 0.5
    return rows, cols


def exact_code(rows, cols, scale_h, scale_w, dims=D):
    quarter = dims // 4
    omega = 1. / 10000**(np.arange(quarter) / quarter)

    def code(a, b):
        a = np.asarray(a, np.float64)[..., None] * omega
        b = np.asarray(b, np.float64)[..., None] * omega
        return np.concatenate([np.sin(a), np.cos(a), np.sin(b), np.cos(b)], -1)

    position = code(rows, cols).reshape(-1, dims)
    scale = np.broadcast_to(code(scale_h, scale_w), position.shape)
    return np.concatenate([position, scale], -1)


def random_boxes(rng, num, width=480., height=360.):
    w = rng.uniform(0.2, 1.0, num) * width
    h = rng.uniform(0.2, 1.0, num) * height
    x1 = rng.uniform(0, 1, num) * (width - w)
    y1 = rng.uniform(0, 1, num) * (height - h)
    return np.stack([x1, y1, x1 + w, y1 + h], 1)


@pytest.mark.parametrize('flip1,flip2',
                         list(itertools.product([False, True], repeat=2)))
def test_code_matches_exact_geometry_for_random_boxes(flip1, flip2):
    rng = np.random.default_rng(int(flip1) * 2 + int(flip2))
    num = 6
    boxes1, boxes2 = random_boxes(rng, num), random_boxes(rng, num)
    flips1 = torch.full((num, ), flip1)
    flips2 = torch.full((num, ), flip2)
    b1 = torch.tensor(boxes1, dtype=torch.float32)
    b2 = torch.tensor(boxes2, dtype=torch.float32)
    rows, cols = view_patch_positions(b1, flips1, b2, flips2, G)
    code = relative_position_code(b1, flips1, b2, flips2, G, D)
    assert code.shape == (num, G * G, 2 * D)
    for i in range(num):
        exp_rows, exp_cols = exact_positions(boxes1[i], flip1, boxes2[i],
                                             flip2)
        np.testing.assert_allclose(rows[i].numpy(), exp_rows, atol=1e-4)
        np.testing.assert_allclose(cols[i].numpy(), exp_cols, atol=1e-4)
        # the closed form for R
        h1 = boxes1[i, 3] - boxes1[i, 1]
        h2 = boxes2[i, 3] - boxes2[i, 1]
        w1 = boxes1[i, 2] - boxes1[i, 0]
        w2 = boxes2[i, 2] - boxes2[i, 0]
        r = np.arange(G)[:, None]
        closed = (
            G * (boxes2[i, 1] - boxes1[i, 1]) / h1 + h2 / h1 * (r + .5) - .5)
        np.testing.assert_allclose(
            rows[i].numpy(), np.broadcast_to(closed, (G, G)), atol=1e-4)
        expected = exact_code(exp_rows, exp_cols, 10 * math.log(h2 / h1),
                              10 * math.log(w2 / w1))
        np.testing.assert_allclose(code[i].numpy(), expected, atol=2e-4)


def test_identical_views_give_the_absolute_table():
    box = torch.tensor([[30., 20., 250., 300.]])
    for flip in (False, True):
        flips = torch.tensor([flip])
        rows, cols = view_patch_positions(box, flips, box, flips, G)
        idx = torch.arange(G, dtype=torch.float32)
        torch.testing.assert_close(
            rows[0], idx[:, None].expand(G, G), atol=1e-4, rtol=0)
        torch.testing.assert_close(
            cols[0], idx[None, :].expand(G, G), atol=1e-4, rtol=0)
        code = relative_position_code(box, flips, box, flips, G, D)[0]
        torch.testing.assert_close(
            code[:, :D], absolute_position_code(G, D), atol=1e-4, rtol=0)
        # scale part: log 1 = 0 -> sin 0, cos 1
        scale = code[:, D:]
        quarter = D // 4
        expected = torch.cat([
            torch.zeros(quarter),
            torch.ones(quarter),
            torch.zeros(quarter),
            torch.ones(quarter)
        ])
        torch.testing.assert_close(scale, expected.expand_as(scale))


def test_absolute_table_is_the_mae_vit_position_table():
    """The encoder's fixed table (mmpretrain) and ours are one layout, so
    visible tokens and queries share it."""
    from mmpretrain.models.utils import build_2d_sincos_position_embedding
    table = build_2d_sincos_position_embedding(G, D, cls_token=True)[0]
    torch.testing.assert_close(table[1:], absolute_position_code(G, D))
    torch.testing.assert_close(table[0], torch.zeros(D))
    # first quarter: sin(row * w0) with w0 = 1: token r * G + c -> sin(r)
    torch.testing.assert_close(
        table[1:, 0],
        torch.arange(G).repeat_interleave(G).float().sin())


def test_both_flipped_leave_the_code_unchanged():
    """Mirroring the whole scene (both boxes mirrored, both views flipped)
    shows the same two images, so the code must not change."""
    width = 480.
    rng = np.random.default_rng(7)
    b1 = torch.tensor(random_boxes(rng, 5), dtype=torch.float32)
    b2 = torch.tensor(random_boxes(rng, 5), dtype=torch.float32)

    def mirror(b):
        return torch.stack(
            [width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], 1)

    no = torch.zeros(5, dtype=torch.bool)
    yes = torch.ones(5, dtype=torch.bool)
    plain = relative_position_code(b1, no, b2, no, G, D)
    both = relative_position_code(mirror(b1), yes, mirror(b2), yes, G, D)
    torch.testing.assert_close(both, plain, atol=2e-4, rtol=0)
    rows0, cols0 = view_patch_positions(b1, no, b2, no, G)
    # C is an increasing function of the view-2 column in both cases
    rows1, cols1 = view_patch_positions(mirror(b1), yes, mirror(b2), yes, G)
    assert (cols1[:, :, 1:] > cols1[:, :, :-1]).all()
    torch.testing.assert_close(cols1, cols0, atol=1e-4, rtol=0)


def test_one_flipped_mirrors_the_columns():
    rng = np.random.default_rng(3)
    b1 = torch.tensor(random_boxes(rng, 5), dtype=torch.float32)
    b2 = torch.tensor(random_boxes(rng, 5), dtype=torch.float32)
    no = torch.zeros(5, dtype=torch.bool)
    yes = torch.ones(5, dtype=torch.bool)
    rows, cols = view_patch_positions(b1, no, b2, no, G)
    # view 2 flipped: its displayed column c is its crop column G-1-c
    rows2, cols2 = view_patch_positions(b1, no, b2, yes, G)
    torch.testing.assert_close(cols2, cols.flip(-1), atol=1e-4, rtol=0)
    torch.testing.assert_close(rows2, rows)
    assert (cols2[:, :, 1:] < cols2[:, :, :-1]).all()  # runs backwards
    # view 1 flipped: positions mirrored inside view 1's grid
    rows1, cols1 = view_patch_positions(b1, yes, b2, no, G)
    torch.testing.assert_close(cols1, G - 1 - cols, atol=1e-4, rtol=0)
    torch.testing.assert_close(rows1, rows)


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match='multiple of 4'):
        sincos_position_code(torch.zeros(3), torch.zeros(3), 30)
