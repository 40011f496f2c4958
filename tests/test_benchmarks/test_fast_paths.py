# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The speed-ups give the same numbers as the straightforward computation."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.models.heads import RegionSimHead, region_embeddings
from densesiam_mm.models.heads.region_sim_head import (_factorising_is_cheaper,
                                                       _has_linear_first_layer)
from densesiam_mm.models.utils import correspondence_from_samples


def _head(with_bias=False):
    vec = dict(type='BN1d')
    return RegionSimHead(
        projector=dict(
            type='NonLinearNeck',
            in_channels=24,
            hid_channels=16,
            out_channels=12,
            num_layers=3,
            with_bias=with_bias,
            with_avg_pool=False,
            norm_cfg=vec),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=12,
            hid_channels=6,
            out_channels=12,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=vec),
        loss=dict(type='RegionInfoNCELoss', temperature=0.2))


@pytest.mark.parametrize('with_bias', [False, True])
def test_region_projection_equals_projecting_region_embeddings(with_bias):
    """g'(sum_k m_nk f_k) computed as sum_k m_nk (W f_k): same values and
    same gradients for the masks, the features and every parameter."""
    torch.manual_seed(0)
    head = _head(with_bias).double().train()
    assert _has_linear_first_layer(head.projector)
    masks = torch.randn(3, 40, 3, 3, dtype=torch.float64, requires_grad=True)
    feats = torch.randn(3, 24, 3, 3, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(120, 12, dtype=torch.float64)

    def grads(projected):
        params = [masks, feats] + list(head.projector.parameters())
        return torch.autograd.grad((projected * weights).sum(), params)

    assert _factorising_is_cheaper(masks, feats, head.projector.fc0)
    fast = head.project_regions(masks, feats)
    # r_n = sum_k softmax_n(masks)[n, k] f_k, in float64 here
    regions = torch.einsum('bnk,bck->bnc',
                           masks.flatten(2).softmax(1),
                           feats.flatten(2)).flatten(0, 1)  # (B*N, C)
    reference = head.projector([regions])[0]
    assert fast.shape == reference.shape == (120, 12)
    torch.testing.assert_close(fast, reference, rtol=1e-10, atol=1e-10)
    for g_fast, g_ref in zip(grads(fast), grads(reference)):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-9, atol=1e-10)


def test_region_projection_keeps_the_projector_state_dict():
    head = _head()
    assert set(head.projector.state_dict()) == set(
        MODELS.build(
            dict(
                type='NonLinearNeck',
                in_channels=24,
                hid_channels=16,
                out_channels=12,
                num_layers=3,
                with_avg_pool=False,
                norm_cfg=dict(type='BN1d'))).state_dict())


def test_other_projectors_use_the_region_embeddings():
    torch.manual_seed(0)
    head = _head()
    head.projector = torch.nn.Identity()
    head.projector.forward = lambda x: (x[0] * 2, )
    assert not _has_linear_first_layer(head.projector)
    masks, feats = torch.randn(2, 5, 3, 3), torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(
        head.project_regions(masks, feats),
        2 * region_embeddings(masks, feats).flatten(0, 1))


def test_numpy_and_tensor_geometry_fields_give_the_same_correspondence():
    boxes = [
        np.array([[0, 0, 60, 60], [20, 10, 90, 80]], np.float32),
        np.array([[5, 5, 50, 70], [0, 0, 40, 40]], np.float32)
    ]
    flips = [np.array([True, False]), np.array([False, False])]

    def samples(to):
        out = []
        for b, f in zip(boxes, flips):
            sample = DataSample()
            sample.set_field(to(b), 'view_boxes')
            sample.set_field(to(f), 'view_flips')
            out.append(sample)
        return out

    from_numpy = correspondence_from_samples(samples(lambda a: a), 3, 'cpu')
    from_torch = correspondence_from_samples(
        samples(torch.from_numpy), 3, 'cpu')
    for a, b in zip(from_numpy, from_torch):
        torch.testing.assert_close(a, b)
    # hand-computed: pair 0 intersects in [20, 10, 60, 60]
    torch.testing.assert_close(from_numpy.points[0, 0, 0],
                               torch.tensor([20 + 40 / 6, 10 + 50 / 6]))


@pytest.mark.parametrize('norm', ['BN', 'GN'])
def test_dense_neck_gemm_path_equals_the_convolutions(norm):
    """The per-pixel GEMM path (BN) gives the 1x1 convolutions' output, BN
    running statistics and gradients; other norms keep the convolutions."""
    from densesiam_mm.models.necks import DenseNonLinearNeck
    torch.manual_seed(0)
    norm_cfg = dict(type='BN') if norm == 'BN' else dict(
        type='GN', num_groups=2)
    neck = DenseNonLinearNeck(
        6, 8, 4, num_layers=3, with_last_bias=True,
        norm_cfg=norm_cfg).double().train()
    assert neck.per_pixel_gemm == (norm == 'BN')
    x = torch.randn(3, 6, 4, 5, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(3, 4, 4, 5, dtype=torch.float64)
    params = [x] + list(neck.parameters())

    def run():
        state = {k: v.clone() for k, v in neck.state_dict().items()}
        out = neck([x])[0]
        grads = torch.autograd.grad((out * weights).sum(), params)
        after = {k: v.clone() for k, v in neck.state_dict().items()}
        neck.load_state_dict(state)
        return out, grads, after

    fast_out, fast_grads, fast_state = run()
    neck.per_pixel_gemm = False
    ref_out, ref_grads, ref_state = run()
    assert fast_out.shape == (3, 4, 4, 5) and fast_out.is_contiguous()
    torch.testing.assert_close(fast_out, ref_out)
    for a, b in zip(fast_grads, ref_grads):
        torch.testing.assert_close(a, b)
    for key in ref_state:
        torch.testing.assert_close(fast_state[key], ref_state[key])


def test_factorisation_is_used_only_where_it_saves_work():
    fc0 = torch.nn.Linear(512, 512, bias=False)
    # pre-training: 512 regions, 7x7 points -> factorise
    assert _factorising_is_cheaper(
        torch.empty(2, 512, 7, 7), torch.empty(2, 512, 7, 7), fc0)
    # segmentation-like: 27 regions on a 16x16 grid -> direct
    fc0 = torch.nn.Linear(128, 256, bias=False)
    assert not _factorising_is_cheaper(
        torch.empty(2, 27, 16, 16), torch.empty(2, 128, 16, 16), fc0)


def test_region_sim_checkpointing_gives_the_same_loss_and_gradients():
    """``with_cp=True`` recomputes RegionSim's activations in backward: the
    loss and every gradient are those of the plain head."""
    torch.manual_seed(0)
    plain = _head().double().train()
    checkpointed = _head().double().train()
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.with_cp = True
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(3):
        sample = DataSample()
        sample.set_field(
            np.array([[0, 0, 60, 50], [10, 5, 70, 64]], np.float32),
            'view_boxes')
        sample.set_field(rng.uniform(size=2) < 0.5, 'view_flips')
        samples.append(sample)
    corr = correspondence_from_samples(samples, 3, 'cpu')
    maps = [
        torch.randn(3, 40, 8, 8, dtype=torch.float64, requires_grad=True)
        for _ in range(2)
    ]
    feats = [
        torch.randn(3, 24, 4, 4, dtype=torch.float64, requires_grad=True)
        for _ in range(2)
    ]

    def loss_and_grads(head):
        loss = head.loss(maps[0], feats[0], maps[1], feats[1], corr)
        inputs = maps + feats + list(head.parameters())
        return loss, torch.autograd.grad(loss, inputs)

    loss_ref, grads_ref = loss_and_grads(plain)
    loss_cp, grads_cp = loss_and_grads(checkpointed)
    torch.testing.assert_close(loss_cp, loss_ref, rtol=0, atol=0)
    for g_cp, g_ref in zip(grads_cp, grads_ref):
        torch.testing.assert_close(g_cp, g_ref, rtol=1e-12, atol=1e-12)
