# Copyright (c) densesiam_mm contributors. All rights reserved.
"""align_views: the one view alignment of the segmentation losses."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.structures import SegDataSample

from densesiam_mm.models.utils import (align_views,
                                       correspondence_from_samples,
                                       dense_correspondence_from_samples,
                                       sample_at_grid)


def samples(boxes, flips):
    out = []
    for box, flip in zip(boxes, flips):
        sample = SegDataSample()
        sample.set_field(torch.tensor(box, dtype=torch.float32), 'view_boxes')
        sample.set_field(torch.tensor(flip), 'view_flips')
        out.append(sample)
    return out


NESTED = samples([[[8., 8., 40., 40.], [0., 0., 64., 64.]],
                  [[40., 40., 80., 80.], [0., 0., 64., 64.]]],
                 [[False, True], [True, False]])


def test_dense_mode_aligns_the_maps_with_per_cell_validity():
    gen = torch.Generator().manual_seed(0)
    map1, map2 = torch.randn(2, 2, 5, 4, 4, generator=gen)
    views = align_views(map1, map2, NESTED, mode='dense')
    corr = dense_correspondence_from_samples(NESTED, (4, 4), 'cpu')
    assert torch.equal(views.map1, sample_at_grid(map1, corr.grid1))
    assert torch.equal(views.map2, sample_at_grid(map2, corr.grid2))
    # view 1 at its own cell centres is view 1
    torch.testing.assert_close(views.map1, map1)
    assert views.grid1 is None and views.grid2 is None
    assert torch.equal(views.point_valid, corr.point_valid)
    assert torch.equal(views.valid, corr.valid)
    # image 2's view 1 is partly outside view 2: its cells are masked
    assert views.point_valid[0].all() and not views.point_valid[1].all()
    assert views.map_valid is views.point_valid
    assert views.point_mask is views.point_valid
    other = torch.randn(2, 3, 4, 4, generator=gen)
    assert views.at_points(other, 1) is other


def test_grid_mode_keeps_own_maps_and_samples_outputs_at_k_by_k():
    gen = torch.Generator().manual_seed(0)
    map1, map2 = torch.randn(2, 2, 5, 8, 8, generator=gen)
    views = align_views(map1, map2, NESTED, mode='grid', grid_size=3)
    corr = correspondence_from_samples(NESTED, 3, 'cpu')
    assert views.map1 is map1 and views.map2 is map2
    assert torch.equal(views.grid1, corr.grid1)
    assert torch.equal(views.grid2, corr.grid2)
    assert views.point_valid is None and views.map_valid is None
    assert torch.equal(views.point_mask, corr.valid)
    assert torch.equal(
        views.at_points(map2, 1), sample_at_grid(map2, corr.grid2))
    unit = align_views(
        map1, map2, NESTED, mode='grid', grid_size=3, normalize=True)
    torch.testing.assert_close(
        unit.at_points(map1, 0),
        F.normalize(sample_at_grid(map1, corr.grid1), dim=1))


def test_dense_mode_normalize_makes_sampled_maps_unit():
    gen = torch.Generator().manual_seed(0)
    map1, map2 = torch.randn(2, 2, 5, 4, 4, generator=gen)
    views = align_views(map1, map2, NESTED, mode='dense', normalize=True)
    torch.testing.assert_close(views.map2.norm(dim=1), torch.ones(2, 4, 4))


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown `mode` 'nested'"):
        align_views(
            torch.zeros(1, 1, 2, 2),
            torch.zeros(1, 1, 2, 2),
            NESTED[:1],
            mode='nested')
