# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM: routing, stop-gradient, frozen parts, UniGrad, EMA schedule."""
import math

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.datasets.transforms import ExactCountBlockMask
from densesiam_mm.models.losses import UniGradLoss

G, MASKED, WIDTH = 14, 118, 32


def small_cfg(**kwargs):
    token_norm = dict(type='TokenBN')
    cfg = dict(
        type='SiameseIM',
        data_preprocessor=dict(type='SelfSupDataPreprocessor'),
        backbone=dict(
            type='SiameseIMViT',
            arch=dict(
                embed_dims=WIDTH,
                num_layers=2,
                num_heads=2,
                feedforward_channels=2 * WIDTH),
            img_size=224,
            patch_size=16),
        neck=dict(
            type='SiameseIMProjector',
            in_channels=WIDTH,
            embed_dims=WIDTH,
            num_layers=2,
            num_heads=2,
            norm_cfg=token_norm),
        head=dict(
            type='SiameseIMHead',
            embed_dims=WIDTH,
            num_layers=4,
            num_heads=2,
            norm_cfg=token_norm),
        init_cfg=[dict(type='Xavier', layer='Linear', distribution='uniform')])
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    model = MODELS.build(small_cfg(**kwargs))
    model.init_weights()
    return model


def batch(num=4, seed=0):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    gen = ExactCountBlockMask(G, MASKED, min_num_patches=16)
    samples = []
    for i in range(num):
        sample = DataSample()
        w, h = rng.uniform(100, 300, 2)
        boxes = np.array([[10, 20, 10 + w, 20 + h], [40, 30, 40 + h, 30 + w]],
                         np.float32)
        sample.set_field(boxes, 'view_boxes')
        sample.set_field(np.array([i % 2 == 0, i % 3 == 0]), 'view_flips')
        sample.set_mask(gen({})['mask'])
        samples.append(sample)
    gen_t = torch.Generator().manual_seed(seed)
    views = [torch.randn(num, 3, 224, 224, generator=gen_t) for _ in range(2)]
    return views, samples


@pytest.fixture(autouse=True)
def max_iters():
    MessageHub.get_current_instance().update_info('max_iters', 100)


def test_routing_shapes():
    model = build()
    seen = {}

    def record(name):

        def hook(module, args, output):
            seen[name] = (tuple(args[0].shape), output)

        return hook

    model.backbone.layers[0].register_forward_hook(record('encoder'))
    model.neck.blocks[0].register_forward_hook(record('projector'))
    model.head.blocks[0].register_forward_hook(record('predictor'))
    model.head.register_forward_hook(record('prediction'))
    model.target_net.register_forward_hook(record('target'))
    views, samples = batch(4)
    losses = model.loss(views, samples)

    assert seen['encoder'][0] == (4, 1 + 78, WIDTH)
    assert seen['projector'][0] == (4, 1 + 78, WIDTH)
    assert seen['predictor'][0] == (4, 1 + 78 + 196, WIDTH)
    assert tuple(seen['prediction'][1].shape) == (4, 196, WIDTH)
    target_tokens = seen['target'][1][0]
    assert tuple(target_tokens.shape) == (4, 1 + 196, WIDTH)
    assert losses['loss'].dim() == 0 and torch.isfinite(losses['loss'])
    # LayerNorm'ed targets of different images differ
    assert 0.1 < losses['target_std'] < 2


def test_no_gradient_into_the_target_branch():
    model = build()
    views, samples = batch(4)
    views = [v.requires_grad_() for v in views]
    loss = model.loss(views, samples)['loss']
    loss.backward()
    for name, param in model.target_net.named_parameters():
        assert not param.requires_grad, name
        assert param.grad is None, name
    assert views[1].grad is None  # the target view feeds no gradient
    assert views[0].grad is not None and views[0].grad.abs().sum() > 0
    assert model.head.query_embed.weight.grad.abs().sum() > 0
    assert model.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0
    # frozen patch embedding and position table get none
    assert model.backbone.patch_embed.projection.weight.grad is None
    assert model.backbone.pos_embed.grad is None


def test_frozen_patch_embedding_absent_from_the_optimizer():
    init_default_scope('mmpretrain')  # as the Runner does
    model = build()
    optim = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            constructor='TrainableParamsOptimWrapperConstructor',
            paramwise_cfg=dict(flat_decay_mult=0.0)))
    in_optim = {
        id(p)
        for g in optim.optimizer.param_groups
        for p in g["params"]
    }
    named = dict(model.named_parameters())
    for name in ('backbone.patch_embed.projection.weight',
                 'backbone.patch_embed.projection.bias', 'backbone.pos_embed'):
        assert id(named[name]) not in in_optim, name
    assert not any(id(p) in in_optim for p in model.target_net.parameters())
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optim == trainable
    for group in optim.optimizer.param_groups:
        if group['params'][0].ndim == 1:
            assert group['weight_decay'] == 0
    # without paramwise options too
    plain = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='AdamW', lr=1e-3),
            constructor='TrainableParamsOptimWrapperConstructor'))
    assert {id(p)
            for g in plain.optimizer.param_groups
            for p in g['params']} == trainable


def test_unigrad_loss_equals_the_naive_diagonal_form():
    torch.manual_seed(0)
    pred = torch.randn(3, 10, 16, dtype=torch.float64)
    target = torch.randn(3, 10, 16, dtype=torch.float64)
    loss = UniGradLoss(neg_weight=0.02)(pred, target)
    p, t = pred.reshape(-1, 16).float(), target.reshape(-1, 16).float()
    corr = t.T @ t / t.shape[0]
    naive = (((p - t)**2).sum(-1).mean() +
             0.02 * torch.diagonal(p @ corr @ p.T).mean()) / 16
    torch.testing.assert_close(loss, naive)
    # by hand: one token, D = 2
    one = UniGradLoss(neg_weight=0.5)(torch.tensor([[1., 2.]]),
                                      torch.tensor([[3., 0.]]))
    # C = [[9, 0], [0, 0]]; pos = 4 + 4 = 8; p C p = 9; (8 + 4.5) / 2
    assert one.item() == pytest.approx(6.25)
    # gradients flow into the prediction only
    p = pred.clone().float().requires_grad_()
    t = target.clone().float().requires_grad_()
    UniGradLoss()(p, t).backward()
    assert p.grad is not None and t.grad is None


def test_token_batch_norm_standardises_over_batch_and_tokens():
    norm = MODELS.build(dict(type='TokenBN', num_features=4))
    x = torch.randn(3, 7, 4) * 5 + 2
    out = norm(x)
    flat = x.reshape(-1, 4)
    expected = (flat -
                flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
    torch.testing.assert_close(out.reshape(-1, 4), expected, atol=1e-5, rtol=0)


def test_ema_after_k_steps_equals_the_closed_form_schedule():
    """Online weights set to c_s before step s; the target must be
    sum_s c_s m_s prod_{j>s} (1 - m_j), m_0 = 1 (copy), with the authors'
    m_s = 0.005 (cos(pi s / T) + 1) / 2, i.e. keep 0.995 -> 1."""
    total, steps = 10, 6
    MessageHub.get_current_instance().update_info('max_iters', total)
    model = build()
    views, samples = batch(2)
    values = [0.3, -0.1, 0.7, 0.2, 0.5, -0.4]
    probe = [
        model.backbone.layers[1].attn.qkv.weight, model.neck.embed.bias,
        model.backbone.cls_token
    ]
    for value in values[:steps]:
        with torch.no_grad():
            for param in probe:
                param.fill_(value)
        model.loss(views, samples)
    expected = 0.
    for s, value in enumerate(values[:steps]):
        m = 1. if s == 0 else 0.005 * (math.cos(math.pi * s / total) + 1) / 2
        keep = math.prod(1 - 0.005 * (math.cos(math.pi * j / total) + 1) / 2
                         for j in range(s + 1, steps))
        expected += value * m * keep
    target = dict(model.target_net.module.named_parameters())
    for name in ('0.layers.1.attn.qkv.weight', '1.embed.bias', '0.cls_token'):
        torch.testing.assert_close(
            target[name],
            torch.full_like(target[name], expected),
            atol=1e-6,
            rtol=0)
    # frozen parts stay identical to the online ones
    torch.testing.assert_close(target['0.patch_embed.projection.weight'],
                               model.backbone.patch_embed.projection.weight)
    assert int(model.target_net.steps) == steps


def test_bad_inputs_are_named():
    model = build()
    views, samples = batch(2)
    for sample in samples:
        del sample.mask
    with pytest.raises(KeyError, match='ExactCountBlockMask'):
        model.loss(views, samples)
    views, samples = batch(2)
    mask = samples[0].mask.clone()
    mask.view(-1)[mask.view(-1).nonzero()[0]] = False
    samples[0].set_mask(mask)
    with pytest.raises(ValueError, match='same number of visible'):
        model.loss(views, samples)


def test_online_encoder_without_mask_is_the_plain_vit():
    model = build()
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(
        arch=dict(
            embed_dims=WIDTH,
            num_layers=2,
            num_heads=2,
            feedforward_channels=2 * WIDTH),
        img_size=224,
        patch_size=16,
        final_norm=False,
        out_type='raw')
    missing, unexpected = vit.load_state_dict(model.backbone.state_dict())
    assert not missing and not unexpected
    x = torch.randn(1, 3, 224, 224)
    torch.testing.assert_close(vit(x)[0], model.backbone(x)[0])
    # masked forward == full forward restricted to... only the embedding:
    # visible tokens enter the blocks with their own positions
    mask = torch.zeros(1, 196, dtype=torch.bool)
    torch.testing.assert_close(model.backbone(x, mask)[0], vit(x)[0])


def test_autocast_runs_and_the_loss_stays_float32():
    """The paper configs train in fp16 (AmpOptimWrapper); token BN and the
    loss run in float32 with autocast off (bf16 here: CPU autocast)."""
    model = build()
    views, samples = batch(2)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        losses = model.loss(views, samples)
    assert losses['loss'].dtype == torch.float32
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.head.mask_token.grad is not None


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match='target_momentum'):
        build(target_momentum=1.5)
    model = build()
    views, samples = batch(2)
    hub = MessageHub.get_current_instance()
    saved = hub.runtime_info.pop('max_iters')
    try:
        with pytest.raises(RuntimeError, match='max_iters'):
            model.loss(views, samples)
    finally:
        hub.update_info('max_iters', saved)
