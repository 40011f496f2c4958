# Copyright (c) densesiam_mm contributors. All rights reserved.
"""siameseim_to_vit.py: our checkpoints and the authors' layout into
mmpretrain's and mmseg's ViT backbones with zero missing keys."""
import os.path as osp
import re

import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.models import VisionTransformer
from mmseg.models.backbones import MAE as MMSegMAE
from mmseg.models.backbones import VisionTransformer as MMSegViT

from densesiam_mm.checkpoint import (CheckpointFileError,
                                     check_pretrained_inits, extract_prefix,
                                     read_model_weights)
from ..conftest import REPO_ROOT, load_script
from ..test_models.test_siameseim import WIDTH, batch, build

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters', 'siameseim_to_vit.py')
ARCH = dict(
    embed_dims=WIDTH,
    num_layers=2,
    num_heads=2,
    feedforward_channels=2 * WIDTH)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A SiameseIM model after one optimizer step, saved as the Runner
    saves it (``state_dict`` + ``meta``)."""
    MessageHub.get_current_instance().update_info('max_iters', 10)
    model = build()
    optim = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2)
    views, samples = batch(2)
    model.loss(views, samples)['loss'].backward()
    optim.step()
    path = str(tmp_path_factory.mktemp('ckpt') / 'iter_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), path)
    return model, path


def mmpretrain_vit():
    return VisionTransformer(
        arch=ARCH,
        img_size=224,
        patch_size=16,
        final_norm=False,
        out_type='raw')


def mmseg_vit():
    return MMSegViT(
        img_size=224,
        patch_size=16,
        embed_dims=WIDTH,
        num_layers=2,
        num_heads=2,
        mlp_ratio=2,
        patch_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        final_norm=False)


def test_ours_into_mmpretrain_vit(trained, tmp_path):
    model, path = trained
    out = str(tmp_path / 'vit.pth')
    summary = load_script(TOOL).convert(path, out)
    assert summary['source'] == 'ours' and summary['num_layers'] == 2
    state = torch.load(out, map_location='cpu')['state_dict']
    vit = mmpretrain_vit()
    missing, unexpected = vit.load_state_dict(state, strict=False)
    assert missing == [] and unexpected == []
    x = torch.randn(1, 3, 224, 224)
    torch.testing.assert_close(vit(x)[0], model.backbone(x)[0])
    # the direct route of the fine-tune configs: full checkpoint + prefix
    vit2 = mmpretrain_vit()
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    prefixed = {
        k[len('backbone.'):]: v
        for k, v in ckpt['state_dict'].items() if k.startswith('backbone.')
    }
    missing, unexpected = vit2.load_state_dict(prefixed, strict=False)
    assert missing == [] and unexpected == []


def test_ours_into_mmseg_vit(trained, tmp_path):
    model, path = trained
    out = str(tmp_path / 'vit_mmseg.pth')
    load_script(TOOL).convert(path, out, to='mmseg-vit')
    vit = mmseg_vit()
    missing, unexpected = vit.load_state_dict(
        torch.load(out, map_location='cpu')['state_dict'], strict=False)
    assert missing == [] and unexpected == []
    vit.eval()
    x = torch.randn(1, 3, 224, 224)
    tokens = model.backbone(x)[0][:, 1:]  # (1, 196, C)
    featmap = vit(x)[-1]  # (1, C, 14, 14)
    torch.testing.assert_close(
        featmap.flatten(2).transpose(1, 2), tokens, atol=1e-5, rtol=1e-4)


def test_ours_into_mmseg_mae_leaves_only_its_own_additions(trained):
    """mmseg's MAE backbone (ADE20K UPerNet config) reads the mmpretrain
    names; missing are only its additions: layer scale (init 1.0 in the
    config), the relative position bias (MAE initialises it to 0) and its
    index buffer (computed from the window size)."""
    model, path = trained
    mae = MMSegMAE(
        img_size=224,
        patch_size=16,
        embed_dims=WIDTH,
        num_layers=2,
        num_heads=2,
        mlp_ratio=2,
        init_values=1.0,
        norm_cfg=dict(type='LN', eps=1e-6))
    state = extract_prefix(read_model_weights(path), 'backbone.', path)
    missing, unexpected = mae.load_state_dict(state, strict=False)
    assert unexpected == []
    own = re.compile(r'layers\.\d+\.(gamma_1|gamma_2|attn\.'
                     r'relative_position_(bias_table|index))$')
    assert missing and all(own.match(k) for k in missing), missing


def official_layout(backbone_state):
    """The authors' key names and extra branches, built by hand."""
    inverse = {
        'ln1': 'norm1',
        'ln2': 'norm2',
        'attn.qkv': 'attn.qkv',
        'attn.proj': 'attn.proj',
        'ffn.layers.0.0': 'mlp.fc1',
        'ffn.layers.1': 'mlp.fc2'
    }
    official = {}
    for key, value in backbone_state.items():
        if key.startswith('patch_embed.projection.'):
            key = 'patch_embed.proj.' + key.split('.')[-1]
        elif key.startswith('layers.'):
            _, idx, rest = key.split('.', 2)
            name, param = rest.rsplit('.', 1)
            key = f'blocks.{idx}.{inverse[name]}.{param}'
        official[key] = value.clone()
    # the momentum encoder, decoder, projector, predictor of the release
    official['mm_patch_embed.proj.weight'] = torch.randn(WIDTH, 3, 16, 16)
    official['mm_cls_token'] = torch.randn(1, 1, WIDTH)
    official['mm_blocks.0.attn.qkv.weight'] = torch.randn(3 * WIDTH, WIDTH)
    official['mm_decoder_embed.weight'] = torch.randn(WIDTH, WIDTH)
    official['decoder_embed.weight'] = torch.randn(WIDTH, WIDTH)
    official['decoder_pos_embed'] = torch.randn(1, 197, WIDTH)
    official['decoder_pos_mlp.weight'] = torch.randn(WIDTH, 2 * WIDTH)
    official['decoder_pred.weight'] = torch.randn(WIDTH, WIDTH)
    official['mask_token'] = torch.randn(1, 1, WIDTH)
    official['projector_decoder_blocks.0.norm1.bn.weight'] = torch.ones(WIDTH)
    official['predictor_decoder_blocks.3.mlp.fc2.bias'] = torch.ones(WIDTH)
    official['mm_projector_decoder_blocks.1.norm2.bn.running_mean'] = \
        torch.zeros(WIDTH)
    return official


def test_official_layout_into_mmpretrain_and_mmseg(trained, tmp_path):
    model, _ = trained
    backbone = {k: v for k, v in model.backbone.state_dict().items()}
    # a checkpoint pos_embed that is *not* the sin-cos table: kept as is
    backbone['pos_embed'] = torch.randn_like(backbone['pos_embed'])
    src = str(tmp_path / 'sim_base_1600ep_pretrain.pth')
    torch.save(dict(model=official_layout(backbone), epoch=1599), src)

    out = str(tmp_path / 'official_vit.pth')
    summary = load_script(TOOL).convert(src, out)
    assert summary['source'] == 'official'
    state = torch.load(out, map_location='cpu')['state_dict']
    assert state.keys() == backbone.keys()
    for key in backbone:
        torch.testing.assert_close(state[key], backbone[key], msg=key)
    vit = mmpretrain_vit()
    missing, unexpected = vit.load_state_dict(state, strict=False)
    assert missing == [] and unexpected == []
    torch.testing.assert_close(vit.pos_embed, backbone['pos_embed'])

    out_seg = str(tmp_path / 'official_vit_mmseg.pth')
    load_script(TOOL).convert(src, out_seg, to='mmseg-vit')
    missing, unexpected = mmseg_vit().load_state_dict(
        torch.load(out_seg, map_location='cpu')['state_dict'], strict=False)
    assert missing == [] and unexpected == []


def test_bad_files_are_named(tmp_path):
    mod = load_script(TOOL)
    bad = str(tmp_path / 'resnet.pth')
    torch.save(dict(state_dict={'conv1.weight': torch.zeros(1)}), bad)
    with pytest.raises(CheckpointFileError, match='resnet.pth'):
        mod.convert(bad, str(tmp_path / 'out.pth'))
    odd = str(tmp_path / 'odd.pth')
    torch.save(
        {
            'patch_embed.proj.weight': torch.zeros(1),
            'pos_embed': torch.zeros(1),
            'blocks.0.weird.weight': torch.zeros(1)
        }, odd)
    with pytest.raises(CheckpointFileError, match='blocks.0.weird.weight'):
        mod.convert(odd, str(tmp_path / 'out.pth'))


def test_transfer_configs_load_the_online_encoder(trained, tmp_path):
    """The fine-tune / linear configs (mmpretrain's MAE recipes) and the
    ADE20K config (mmseg's MAE UPerNet) read our weights, at toy width."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    from mmseg.registry import MODELS as SEG_MODELS

    from ..conftest import config_path
    model, path = trained
    expected = model.backbone.state_dict()
    init_default_scope('mmpretrain')
    for name in ('vit-base-p16_8xb128-coslr-100e_in1k.py',
                 'vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'):
        cfg = Config.fromfile(config_path('siameseim', 'benchmarks', name))
        cfg.model.backbone.arch = ARCH
        if cfg.model.backbone.get('frozen_stages', -1) > 0:  # linear probe
            cfg.model.backbone.frozen_stages = ARCH['num_layers']
        cfg.model.backbone.init_cfg.checkpoint = path
        cfg.model.head.in_channels = WIDTH
        if cfg.model.get('neck'):
            cfg.model.neck.input_features = WIDTH
        classifier = PRETRAIN_MODELS.build(cfg.model)
        check_pretrained_inits(classifier)  # as the tools do
        classifier.init_weights()
        loaded = classifier.backbone.state_dict()
        for key, value in expected.items():
            torch.testing.assert_close(loaded[key], value, msg=(name, key))
        assert set(loaded) - set(expected) <= {'ln2.weight', 'ln2.bias'}

    converted = str(tmp_path / 'pretrain.pth')
    load_script(TOOL).convert(path, converted)
    cfg = Config.fromfile(
        config_path('siameseim', 'benchmarks',
                    'siameseim-base_upernet_8xb2-amp-160k_ade20k-512x512.py'))
    init_default_scope('mmseg')
    backbone = cfg.model.backbone
    backbone.update(
        embed_dims=WIDTH,
        num_layers=2,
        num_heads=2,
        mlp_ratio=2,
        out_indices=[1],
        pretrained=cfg.model.pretrained)
    backbone.pretrained = converted
    mae = SEG_MODELS.build(backbone)
    mae.init_weights()
    loaded = mae.state_dict()
    for key in ('layers.1.attn.qkv.weight', 'layers.0.ffn.layers.1.bias',
                'patch_embed.projection.weight', 'cls_token'):
        torch.testing.assert_close(loaded[key], expected[key], msg=key)
    assert loaded['pos_embed'].shape == (1, 1 + 32 * 32, WIDTH)
