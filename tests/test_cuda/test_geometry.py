# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Geometry and dense correspondence on the device equal the CPU's."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from densesiam_mm.models.utils.geometry import (dense_correspondence,
                                                sample_at_grid,
                                                view_correspondence)
from densesiam_mm.models.utils.view_alignment import align_views
from densesiam_mm.models.utils.view_samples import (
    correspondence_from_samples, dense_correspondence_from_samples)
from . import common

pytestmark = common.PYTESTMARK


def _geometry(batch_size=16, seed=0):
    """``(B, 2, 4)`` boxes (some pairs apart) and ``(B, 2)`` flips."""
    gen = torch.Generator().manual_seed(seed)
    corner = torch.rand(batch_size, 2, 2, generator=gen) * 200
    side = 40 + torch.rand(batch_size, 2, 2, generator=gen) * 160
    boxes = torch.cat([corner, corner + side], dim=-1)
    flips = torch.rand(batch_size, 2, generator=gen) < 0.5
    return boxes, flips


def _assert_same(device_out, cpu_out, dev):
    for name, got, ref in zip(cpu_out._fields, device_out, cpu_out):
        if ref is None:
            assert got is None, name
            continue
        assert got.device.type == dev.type, name
        torch.testing.assert_close(
            got.cpu(), ref, atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize('grid_size', [1, 7])
def test_view_correspondence(grid_size):
    dev = common.device()
    boxes, flips = _geometry()
    args = (boxes[:, 0], flips[:, 0], boxes[:, 1], flips[:, 1])
    ref = view_correspondence(*args, grid_size)
    got = view_correspondence(*(a.to(dev) for a in args), grid_size)
    _assert_same(got, ref, dev)
    assert not ref.valid.all() and ref.valid.any()  # both cases covered


@pytest.mark.parametrize('feat_size', [(7, 7), (12, 9)])
def test_dense_correspondence(feat_size):
    dev = common.device()
    boxes, flips = _geometry()
    args = (boxes[:, 0], flips[:, 0], boxes[:, 1], flips[:, 1])
    ref = dense_correspondence(*args, feat_size)
    got = dense_correspondence(*(a.to(dev) for a in args), feat_size)
    _assert_same(got, ref, dev)


def test_correspondence_from_host_samples():
    """The data samples' numpy geometry goes to the device once; the grids
    equal the CPU's."""
    dev = common.device()
    boxes, flips = _geometry(8)
    samples = []
    for b, f in zip(boxes.numpy(), flips.numpy()):
        sample = DataSample()
        sample.set_field(np.asarray(b, np.float32), 'view_boxes')
        sample.set_field(np.asarray(f), 'view_flips')
        samples.append(sample)
    _assert_same(
        correspondence_from_samples(samples, 7, dev),
        correspondence_from_samples(samples, 7, torch.device('cpu')), dev)
    # dense mode needs one overlapping pair (checked on the host copy)
    _assert_same(
        dense_correspondence_from_samples(samples, (7, 7), dev),
        dense_correspondence_from_samples(samples, (7, 7),
                                          torch.device('cpu')), dev)


def test_sample_at_grid_values_and_gradients():
    dev = common.device()
    boxes, flips = _geometry(4)
    corr = view_correspondence(boxes[:, 0], flips[:, 0], boxes[:, 1],
                               flips[:, 1], 5)
    gen = torch.Generator().manual_seed(1)
    feats = torch.randn(4, 8, 7, 7, generator=gen, requires_grad=True)
    weight = torch.randn(4, 8, 5, 5, generator=gen)
    ref = sample_at_grid(feats, corr.grid1)
    (ref * weight).sum().backward()
    feats_dev = feats.detach().to(dev).requires_grad_()
    got = sample_at_grid(feats_dev, corr.grid1.to(dev))
    (got * weight.to(dev)).sum().backward()
    torch.testing.assert_close(
        got.detach().cpu(), ref.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        feats_dev.grad.cpu(), feats.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('mode', ['dense', 'grid'])
def test_align_views(mode):
    """The one alignment of DenseSiam-Seg and PiCIE: maps, validity and
    the grid mode's later sampling equal the CPU's."""
    dev = common.device()
    gen = torch.Generator().manual_seed(2)
    samples = []
    for i in range(2):
        sample = DataSample()
        sample.set_field(
            np.array([[8., 4., 40., 36.], [0., 0., 64., 64.]], np.float32),
            'view_boxes')
        sample.set_field(np.array([i == 0, False]), 'view_flips')
        samples.append(sample)
    maps = [torch.randn(2, 6, 8, 8, generator=gen) for _ in range(2)]
    ref = align_views(*maps, samples, mode=mode, grid_size=5, normalize=True)
    got = align_views(
        *(m.to(dev) for m in maps),
        samples,
        mode=mode,
        grid_size=5,
        normalize=True)
    for view in range(2):
        torch.testing.assert_close(
            got.maps[view].cpu(), ref.maps[view], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            got.at_points(maps[view].to(dev), view).cpu(),
            ref.at_points(maps[view], view),
            atol=1e-5,
            rtol=1e-5)
    assert torch.equal(got.point_mask.cpu(), ref.point_mask)
