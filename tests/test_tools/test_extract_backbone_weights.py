# Copyright (c) densesiam_mm contributors. All rights reserved.
"""extract_backbone_weights.py and the transfer configs' weight loading.

A real (2-iteration) DenseSiam ResNet-50 checkpoint is extracted and loaded
into the mmdet/mmseg benchmark models built from the benchmark configs; the
weights must arrive unchanged, with no backbone key missing or unexpected,
through both routes (extracted file; full checkpoint + prefix).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_state_dict

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import (check_pretrained_inits,
                                     load_checkpoint_file)
from ..conftest import (REPO_ROOT, SHARED_DATA, config_path, load_script,
                        shared_path)

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters',
                'extract_backbone_weights.py')
BENCH = config_path('benchmarks')
MASK_RCNN = osp.join(BENCH, 'mmdetection', 'coco',
                     'mask-rcnn_resnet50-syncbn_fpn_8xb2-1x_coco.py')
FASTER_C4 = osp.join(BENCH, 'mmdetection', 'voc0712',
                     'faster-rcnn_resnet50-syncbn-c4_8xb2-24k_voc0712.py')
FCN = osp.join(BENCH, 'mmsegmentation', 'cityscapes',
               'fcn_resnet50-d8-syncbn_8xb2-40k_cityscapes-769x769.py')
BENCHMARKS = [('mmdet', MASK_RCNN), ('mmdet', FASTER_C4), ('mmseg', FCN)]

tool = load_script(TOOL)


def train_densesiam_r50(work_dir) -> str:
    """A 2-iteration DenseSiam ResNet-50 run on CamVid (64 px views,
    batch 2) through tools/train.py; returns its mmengine checkpoint.

    lr is lowered to 1e-3: two steps at lr 0.05 on batch 2 leave BN running
    statistics that make the eval-mode network diverge, which would turn
    the downstream validation into degenerate outputs.
    """
    shared_path('camvid', 'images', 'train')
    config = config_path('densesiam',
                         'densesiam_resnet18_1xb16-coslr-200i_camvid.py')
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir',
        str(work_dir), '--cfg-options', 'model.backbone.depth=50',
        'model.neck.in_channels=2048', 'model.pix_sim_neck.in_channels=2048',
        'model.region_sim_head.projector.in_channels=2048',
        'train_dataloader.dataset.pipeline.1.transforms.0.0.scale=64',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2',
        'optim_wrapper.optimizer.lr=0.001', 'custom_hooks.0.lr=0.001'
    ]
    env = dict(os.environ, DENSESIAM_SHARED_DATA=SHARED_DATA)
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    ckpt = osp.join(str(work_dir), 'iter_2.pth')
    assert osp.isfile(ckpt)
    return ckpt


_CHECKPOINTS = {}


def densesiam_r50_checkpoint(tmp_path_factory) -> str:
    """:func:`train_densesiam_r50` once per test session."""
    if 'r50' not in _CHECKPOINTS:
        _CHECKPOINTS['r50'] = train_densesiam_r50(
            tmp_path_factory.mktemp('densesiam_r50'))
    return _CHECKPOINTS['r50']


@pytest.fixture(scope='module')
def densesiam_ckpt(tmp_path_factory):
    return densesiam_r50_checkpoint(tmp_path_factory)


@pytest.fixture(scope='module')
def source_backbone(densesiam_ckpt):
    state = load_checkpoint_file(densesiam_ckpt)['state_dict']
    return {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }


@pytest.fixture(scope='module')
def extracted(densesiam_ckpt, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('extracted') / 'backbone.pth')
    proc = subprocess.run([sys.executable, TOOL, densesiam_ckpt, out],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'ResNet-50' in proc.stdout and '318 backbone tensors' in \
        proc.stdout, proc.stdout
    return out


def build_with_init(scope, config, checkpoint, prefix):
    """Build the benchmark model of ``config`` and run its init_weights with
    the backbone (and a C4 RoI shared head) read from ``checkpoint``."""
    cfg = Config.fromfile(config)
    init = dict(type='Pretrained', checkpoint=checkpoint, prefix=prefix)
    cfg.model.backbone.init_cfg = init
    if 'shared_head' in cfg.model.get('roi_head', {}):
        cfg.model.roi_head.shared_head.init_cfg = init
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    # as the tools' runner does: check the Pretrained init_cfgs, then let
    # mmengine load them (the types of mmengine checkpoints are allowed)
    check_pretrained_inits(model)
    model.init_weights()
    return model


def transferred_state(model) -> dict:
    """Backbone tensors of a built model, C4 shared head (res5) included."""
    state = dict(model.backbone.state_dict())
    shared_head = getattr(
        getattr(model, 'roi_head', None), 'shared_head', None)
    if shared_head is not None:
        head = shared_head.state_dict()
        assert not set(head) & set(state)
        state.update(head)
    return state


def test_extracted_file_is_the_backbone(extracted, densesiam_ckpt,
                                        source_backbone, tmp_path):
    ckpt = load_checkpoint_file(extracted)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert list(ckpt['state_dict']) == list(source_backbone)
    for key, value in source_backbone.items():
        assert torch.equal(ckpt['state_dict'][key], value), key
    # the keys are exactly those of mmdet's and mmseg's ResNet-50
    from mmdet.models.backbones import ResNet as DetResNet
    from mmseg.models.backbones import ResNet as SegResNet
    for resnet in (DetResNet(depth=50), SegResNet(depth=50)):
        load_state_dict(resnet, ckpt['state_dict'], strict=True)
    # --torchvision: a plain state dict, only the new fc head missing
    import torchvision
    out = str(tmp_path / 'tv.pth')
    tool.main([densesiam_ckpt, out, '--torchvision'])
    state = torch.load(out, weights_only=True)
    result = torchvision.models.resnet50().load_state_dict(state, strict=False)
    assert sorted(result.missing_keys) == ['fc.bias', 'fc.weight']
    assert result.unexpected_keys == []
    for key, value in source_backbone.items():
        assert torch.equal(state[key], value), key


@pytest.mark.parametrize(
    'scope,config',
    BENCHMARKS,
    ids=['mask-rcnn-fpn', 'faster-rcnn-c4', 'fcn-d8'])
def test_benchmark_models_load_the_pretrained_backbone(scope, config,
                                                       extracted,
                                                       densesiam_ckpt,
                                                       source_backbone):
    by_file = transferred_state(
        build_with_init(scope, config, extracted, None))
    # zero missing, zero unexpected: the model's backbone (+ res5 head)
    # has exactly the extracted keys
    assert set(by_file) == set(source_backbone)
    for key, value in source_backbone.items():
        assert torch.equal(by_file[key], value), key
    # the direct route (full checkpoint, prefix 'backbone.') loads the same
    by_prefix = transferred_state(
        build_with_init(scope, config, densesiam_ckpt, 'backbone.'))
    for key, value in by_file.items():
        assert torch.equal(by_prefix[key], value), key


@pytest.mark.parametrize(
    'config', [c for _, c in BENCHMARKS],
    ids=['mask-rcnn-fpn', 'faster-rcnn-c4', 'fcn-d8'])
def test_simsiam_variants_point_at_the_simsiam_checkpoint(config):
    base = Config.fromfile(config)
    simsiam = Config.fromfile(config.replace('.py', '_simsiam.py'))
    assert 'densesiam' in base.model.backbone.init_cfg.checkpoint
    assert 'simsiam_resnet50' in simsiam.model.backbone.init_cfg.checkpoint
    assert simsiam.model.backbone.init_cfg.prefix == 'backbone.'
    roi_head = simsiam.model.get('roi_head', {})
    if 'shared_head' in roi_head:
        assert roi_head.shared_head.init_cfg.checkpoint == \
            simsiam.model.backbone.init_cfg.checkpoint
    # everything but the checkpoint is the DenseSiam benchmark
    simsiam.model.backbone.init_cfg = base.model.backbone.init_cfg
    if 'shared_head' in roi_head:
        simsiam.model.roi_head.shared_head.init_cfg = \
            base.model.roi_head.shared_head.init_cfg
    assert simsiam.model == base.model
    assert simsiam.train_cfg == base.train_cfg


def test_simsiam_checkpoint_extracts(tmp_path):
    """An mmpretrain SimSiam checkpoint (same layout) extracts too."""
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(
        config_path('simsiam', 'simsiam_resnet50_16xb32-coslr-200e_in1k.py'))
    cfg.model.backbone.norm_cfg = dict(type='BN')
    model = MODELS.build(cfg.model)
    src = str(tmp_path / 'simsiam.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=200)), src)
    out = str(tmp_path / 'backbone.pth')
    summary = tool.convert(src, out)
    assert summary == dict(num_tensors=318, depth=50)
    state = load_checkpoint_file(out)['state_dict']
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(state[key], value), key


def test_bad_files_are_refused_with_their_name(tmp_path, capsys):
    text = tmp_path / 'notes.txt'
    text.write_text('not a checkpoint')
    listing = str(tmp_path / 'list.pth')
    torch.save([1, 2, 3], listing)
    no_tensors = str(tmp_path / 'meta_only.pth')
    torch.save(dict(meta=dict(epoch=1)), no_tensors)
    head_only = str(tmp_path / 'head_only.pth')
    torch.save(
        dict(state_dict={'neck.fc.weight': torch.zeros(2, 2)}), head_only)
    already = str(tmp_path / 'already.pth')
    torch.save(
        dict(
            state_dict={
                'conv1.weight': torch.zeros(1),
                'layer1.0.conv1.weight': torch.zeros(1)
            }), already)
    cases = [
        (str(text), 'is not a torch checkpoint'),
        (str(tmp_path / 'missing.pth'), 'does not exist'),
        (listing, 'holds a list'),
        (no_tensors, 'no tensors'),
        (head_only, 'has no backbone weights'),
        (already, 'backbone-only file already'),
    ]
    for path, message in cases:
        with pytest.raises(SystemExit) as exc:
            tool.main([path, str(tmp_path / 'out.pth')])
        assert path in str(exc.value) and message in str(exc.value), \
            exc.value
        assert not osp.exists(tmp_path / 'out.pth')
    # --torchvision refuses a backbone that is not a standard ResNet
    with pytest.raises(SystemExit, match='not a standard ResNet'):
        tool.main([
            head_only,
            str(tmp_path / 'out.pth'), '--prefix', 'neck', '--torchvision'
        ])
