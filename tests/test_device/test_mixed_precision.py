# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Mixed precision: fp16 and bf16 autocast steps (on CPU) against fp32.

CPU autocast runs convolutions and matmuls in fp16 or bf16 here as CUDA
autocast does on a GPU, so the numerics of a mixed-precision step can be
tested without one: same weights, same inputs, the losses under autocast
are finite, float32 and within the tolerances below of the fp32 step. The
parts that must stay float32 (cosine, softmax cross-entropy, InfoNCE,
UniGrad's correlation, the region sums, grid sampling coordinates, k-means)
give the fp32 result exactly under autocast.

Tolerances (``|amp - fp32| <= ABS + REL * |fp32|``) are about 3x the
largest deviation measured on these batches (docs/gpu.md, "Mixed
precision": 5.2e-4 in fp16, 3.4e-3 in bf16, both DenseSiam's global
SimSiam loss): fp16 has 11 mantissa bits, bf16 8.
"""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope

import densesiam_mm  # noqa: F401
from densesiam_mm.models.heads import region_embeddings
from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                        RebalancedPseudoLabelLoss,
                                        RegionInfoNCELoss, UniGradLoss,
                                        target_correlation)
from densesiam_mm.models.utils.geometry import sample_at_grid
from ..test_models import test_densesiam, test_siameseim, test_unsup_seg

DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}
#: (ABS, REL) per autocast dtype
TOLERANCE = {'fp16': (2e-3, 2e-3), 'bf16': (1e-2, 1e-2)}


def _densesiam():
    torch.manual_seed(0)
    model = test_densesiam.MODELS.build(
        test_densesiam.small_model_cfg(region_sim_enabled=True))
    return model, test_densesiam.batch(batch_size=4, size=64)


def _densesiam_seg():
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = test_unsup_seg.build(
            test_unsup_seg.DENSESIAM_CAMVID, region_sim_enabled=True)
    inputs, samples = test_unsup_seg.two_view_batch()
    for sample in samples:
        sample.view_boxes = torch.tensor([[8., 8., 40., 40.],
                                          [0., 0., 64., 64.]])
    return model, (inputs, samples)


def _picie():
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = test_unsup_seg.build(test_unsup_seg.PICIE_OFFICIAL_CAMVID)
    gen = torch.Generator().manual_seed(0)
    model.set_centroids(
        F.normalize(torch.randn(2, 11, 128, generator=gen), dim=-1))
    inputs, samples = test_unsup_seg.two_view_batch()
    for i, sample in enumerate(samples):
        sample.view_boxes = torch.tensor([[8., 8., 40., 40.],
                                          [0., 0., 64., 64.]])
        sample.set_metainfo(dict(sample_idx=i))
    model.set_pseudo_labels({
        i:
        torch.randint(11, (2, 16, 16), generator=gen, dtype=torch.uint8)
        for i in range(2)
    })
    return model, (inputs, samples)


def _siameseim():
    MessageHub.get_current_instance().update_info('max_iters', 100)
    torch.manual_seed(0)
    return test_siameseim.build(), test_siameseim.batch(num=4)


ALGORITHMS = {
    'densesiam': _densesiam,
    'densesiam_seg': _densesiam_seg,
    'picie': _picie,
    'siameseim': _siameseim,
}


def _losses(model, inputs, samples, dtype):
    with torch.autocast(
            'cpu', dtype=dtype or torch.float32, enabled=dtype is not None):
        return model.loss(inputs, copy.deepcopy(samples))


def measure(name, precision):
    """Losses of one step in fp32 and under autocast, same weights."""
    model, (inputs, samples) = ALGORITHMS[name]()
    model.train()
    ref = _losses(copy.deepcopy(model), inputs, samples, None)
    amp = _losses(model, inputs, samples, DTYPES[precision])
    return model, ref, amp


@pytest.mark.parametrize('precision', list(DTYPES))
@pytest.mark.parametrize('name', list(ALGORITHMS))
def test_autocast_step_is_finite_fp32_and_close(name, precision):
    model, ref, amp = measure(name, precision)
    abs_tol, rel_tol = TOLERANCE[precision]
    assert set(amp) == set(ref)
    for key, value in amp.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value), key
        expected = ref[key].item()
        assert abs(value.item() -
                   expected) <= abs_tol + rel_tol * abs(expected), (
                       key, value.item(), expected)
    sum(v for v in amp.values() if v.requires_grad).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize('precision', list(DTYPES))
def test_linear_probe_head_under_autocast(precision):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from densesiam_mm.models.probes import LinearProbeHead
    torch.manual_seed(0)
    head = LinearProbeHead(in_channels=32, in_index=0, num_classes=5)
    head.train()
    feats = [torch.randn(2, 32, 8, 8)]
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(5, (1, 32, 32)))
        samples.append(sample)
    ref = copy.deepcopy(head).loss_by_feat(
        copy.deepcopy(head)(feats), samples)['loss_ce']
    with torch.autocast('cpu', dtype=DTYPES[precision]):
        amp = head.loss_by_feat(head(feats), samples)['loss_ce']
    abs_tol, rel_tol = TOLERANCE[precision]
    assert torch.isfinite(amp)
    assert abs(amp.item() - ref.item()) <= abs_tol + rel_tol * ref.item()


# ---------------------------------------- the parts that stay float32
def _same_under_autocast(function, *args):
    """``function(*args)`` under fp16 and bf16 autocast equals it without
    autocast (to float32 rounding): it computes in float32."""
    ref = function(*args)
    for dtype in DTYPES.values():
        with torch.autocast('cpu', dtype=dtype):
            out = function(*args)
        for r, o in zip(
                ref if isinstance(ref, tuple) else (ref, ),
                out if isinstance(out, tuple) else (out, )):
            assert o.dtype == torch.float32, dtype
            torch.testing.assert_close(o, r, rtol=1e-6, atol=1e-6)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('mode', ['cosine', 'cross_entropy'])
def test_dense_similarity_is_fp32(mode):
    _same_under_autocast(
        DenseSimilarityLoss(mode=mode, temperature=0.5), _randn(2, 64, 7, 7),
        _randn(2, 64, 7, 7, seed=1))


def test_info_nce_is_fp32():
    _same_under_autocast(
        RegionInfoNCELoss(temperature=0.2), _randn(2, 32, 64),
        _randn(2, 32, 64, seed=1))


def test_rebalanced_cross_entropy_is_fp32():
    labels = torch.randint(
        8, (2, 6, 6), generator=torch.Generator().manual_seed(0))
    for rebalance in ('proportional', 'inverse', 'none'):
        _same_under_autocast(
            RebalancedPseudoLabelLoss(rebalance=rebalance), _randn(2, 8, 6, 6),
            labels)


def test_unigrad_and_its_correlation_are_fp32():
    _same_under_autocast(UniGradLoss(), _randn(2, 49, 64),
                         _randn(2, 49, 64, seed=1))

    def correlation(target):
        from densesiam_mm.models.utils import autocast_off
        with autocast_off('cpu'):  # as UniGradLoss calls it
            return target_correlation(target.float())

    _same_under_autocast(correlation, _randn(98, 64))


def test_region_sums_are_fp32():
    _same_under_autocast(region_embeddings, _randn(2, 16, 7, 7),
                         _randn(2, 64, 7, 7, seed=1))


def test_grid_sampling_keeps_fp32_coordinates():
    """A half-precision map is sampled at float32 coordinates: the result
    equals sampling the (exactly representable) map in float32."""
    feats = _randn(1, 4, 56, 56).bfloat16()
    grid = torch.rand(
        1, 7, 7, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    out = sample_at_grid(feats, grid)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, sample_at_grid(feats.float(), grid))


def test_kmeans_is_fp32():
    from densesiam_mm.models.utils.kmeans import spherical_kmeans
    points = _randn(300, 16)

    def kmeans(points):
        return spherical_kmeans(
            points, 5, num_iters=5, generator=torch.Generator().manual_seed(0))

    _same_under_autocast(kmeans, points)


def test_siameseim_amp_configs_use_fp16_with_dynamic_loss_scale():
    """The paper's recipe: fp16 autocast, dynamic loss scaling."""
    from mmengine.config import Config

    from ..conftest import config_path
    for name in ('siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py',
                 'siameseim_vit-base-p16_32xb128-amp-coslr-400e_in1k.py'):
        cfg = Config.fromfile(config_path('siameseim', name))
        wrapper = cfg.optim_wrapper
        assert wrapper.type in ('AmpOptimWrapper', 'NaNGuardAmpOptimWrapper')
        assert wrapper.loss_scale == 'dynamic'
        assert wrapper.dtype == 'float16', name


def test_host_geometry_arrays_are_numpy():
    """(Sanity) the fake-CUDA helper's numpy fields are what the models
    read on the host."""
    from densesiam_mm.models.utils.view_samples import host_boxes_array
    _, samples = test_densesiam.batch(batch_size=2)
    boxes = host_boxes_array(samples)
    assert isinstance(boxes, np.ndarray) and boxes.shape == (2, 2, 4)
