# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/analysis/dense_probe.py: checkpoints of every kind in, clear
errors naming the file for the bad ones."""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import CheckpointFileError
from densesiam_mm.models.probes import load_backbone_weights, resnet_depth
from tests.conftest import REPO_ROOT, load_script

TOOL = 'tools/analysis/dense_probe.py'


def resnet(depth=18, **kwargs):
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(type='ResNet', depth=depth, **kwargs))
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def r18_weights():
    torch.manual_seed(1)
    return resnet().state_dict()


def test_every_checkpoint_layout_loads_the_same_weights(tmp_path, r18_weights):
    import torchvision
    files = {
        # this project's DenseSiam / SimSiam checkpoints (whole model)
        'densesiam.pth':
        dict(
            state_dict={
                **{
                    f'backbone.{k}': v
                    for k, v in r18_weights.items()
                }, 'pix_sim_neck.mlp.0.weight': torch.zeros(3)
            },
            meta=dict(epoch=1)),
        # tools/model_converters/extract_backbone_weights.py output
        'extracted.pth':
        dict(state_dict=dict(r18_weights)),
        # a DDP-wrapped mmpretrain classifier from a model zoo
        'zoo.pth':
        dict(
            state_dict={
                **{
                    f'module.backbone.{k}': v
                    for k, v in r18_weights.items()
                }, 'module.head.fc.weight': torch.zeros(10, 512)
            }),
    }
    # torchvision ResNet-18: same key names, plus fc.*
    tv = torchvision.models.resnet18()
    tv.load_state_dict({
        **r18_weights, 'fc.weight': tv.fc.weight,
        'fc.bias': tv.fc.bias
    })
    files['torchvision.pth'] = tv.state_dict()
    for name, content in files.items():
        path = str(tmp_path / name)
        torch.save(content, path)
        target = resnet()
        load_backbone_weights(target, path)
        loaded = target.state_dict()
        assert all(
            torch.equal(loaded[k], r18_weights[k]) for k in r18_weights), name
    assert resnet_depth(r18_weights) == 18


def test_bad_checkpoints_get_errors_naming_the_file(tmp_path, r18_weights):
    not_torch = tmp_path / 'notes.pth'
    not_torch.write_text('these are not weights')
    no_backbone = tmp_path / 'optimizer_only.pth'
    torch.save(
        dict(optimizer=dict(state={}), meta=dict(epoch=3)), str(no_backbone))
    other_model = tmp_path / 'detector.pth'
    torch.save(
        dict(state_dict={'rpn_head.conv.weight': torch.zeros(3)}),
        str(other_model))
    wrong_arch = tmp_path / 'resnet50.pth'
    torch.save(dict(state_dict=resnet(50).state_dict()), str(wrong_arch))
    deep_stem = tmp_path / 'resnetv1c18.pth'
    torch.save(
        dict(state_dict=resnet(18, deep_stem=True).state_dict()),
        str(deep_stem))
    missing = tmp_path / 'missing.pth'

    cases = [
        (not_torch, 'is not a torch checkpoint'),
        (no_backbone, 'has no model weights'),
        (other_model, 'has no backbone weights'),
        (wrong_arch, 'holds another architecture.*shapes differ'),
        (deep_stem, 'holds another architecture.*missing'),
        (missing, 'does not exist'),
    ]
    for path, message in cases:
        with pytest.raises(CheckpointFileError) as err:
            load_backbone_weights(resnet(), str(path))
        assert str(path) in str(err.value)
        assert err.match(message), (path, str(err.value))

    # the tool stops with the same message, before any training
    tool = load_script(TOOL)
    for path, message in cases[:2] + cases[4:5]:
        with pytest.raises(SystemExit) as exit_info:
            tool.main([str(path), '--work-dir', str(tmp_path / 'probe')])
        assert str(path) in str(exit_info.value.code)
        assert 'error:' in str(exit_info.value.code)


def test_tool_fits_the_config_to_the_checkpoint_depth(tmp_path):
    tool = load_script(TOOL)
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, tool.DATA_CONFIGS['camvid']))
    path = str(tmp_path / 'r34.pth')
    torch.save(resnet(34).state_dict(), path)
    tool.prepare_backbone(cfg, path, str(tmp_path))
    assert cfg.model.backbone.depth == 34
    assert cfg.model.decode_head.in_channels == 512
    assert cfg.model.backbone.init_cfg.checkpoint == str(tmp_path /
                                                         'backbone.pth')
    tool.set_stages(cfg, [1, 2, 3])
    assert cfg.model.decode_head.in_index == [1, 2, 3]
    assert cfg.model.decode_head.in_channels == [128, 256, 512]
