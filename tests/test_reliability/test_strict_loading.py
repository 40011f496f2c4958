# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Weights of another model are never accepted silently; tools never
destroy their inputs or their own outputs (issue 13, cases 3, 4, 6)."""
import hashlib
import os
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from densesiam_mm.apis import init_unsup_segmentor
from densesiam_mm.checkpoint import check_pretrained_inits
from ..conftest import DEMO_DATA, REPO_ROOT, config_path, load_script
from ._utils import kept_default_scope

DEMO_CFG = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-60i_demo.py')
SEG_CFG = config_path('unsup_seg',
                      'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py')
PICIE_CFG = config_path('unsup_seg', 'picie_resnet18-fpn_1xb8-3e_camvid.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
DEMO = osp.join(REPO_ROOT, 'tools', 'demo', 'seg_demo.py')
EXTRACTOR = osp.join(REPO_ROOT, 'tools', 'model_converters',
                     'extract_backbone_weights.py')


def _densesiam():
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(Config.fromfile(DEMO_CFG).model)


@pytest.fixture(scope='module')
def pretrain_ckpt(tmp_path_factory):
    """A DenseSiam pre-training checkpoint (the whole model)."""
    path = str(tmp_path_factory.mktemp('pretrain') / 'densesiam.pth')
    torch.save(dict(state_dict=_densesiam().state_dict(), meta={}), path)
    return path


@pytest.fixture(scope='module')
def seg_ckpt(tmp_path_factory):
    """A checkpoint of the DenseSiam-Seg model itself."""
    path = str(tmp_path_factory.mktemp('seg') / 'densesiam_seg.pth')
    with kept_default_scope():
        model = init_unsup_segmentor(SEG_CFG, None)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


# -- case 6: test / demo / inference load strictly -------------------------
def test_test_tool_refuses_pretraining_checkpoint(pretrain_ckpt, tmp_path,
                                                  monkeypatch):
    monkeypatch.setattr(
        sys, 'argv',
        [TEST, SEG_CFG, pretrain_ckpt, '--work-dir',
         str(tmp_path / 'work')])
    with pytest.raises(
            ValueError,
            match=r'densesiam\.pth: lacks \d+ of the '
            r'\d+ tensors of DenseSiamSeg: .*it is a checkpoint of '
            'another model'):
        runpy.run_path(TEST, run_name='__main__')


def test_inference_refuses_checkpoint_of_another_model(pretrain_ckpt,
                                                       seg_ckpt):
    with pytest.raises(ValueError, match=r'densesiam\.pth: lacks'):
        init_unsup_segmentor(SEG_CFG, pretrain_ckpt)
    # a DenseSiam-Seg checkpoint lacks PiCIE's classifier
    with pytest.raises(
            ValueError, match=r'densesiam_seg\.pth: lacks .* '
            'tensors of PiCIE'):
        init_unsup_segmentor(PICIE_CFG, seg_ckpt)
    model = init_unsup_segmentor(SEG_CFG, seg_ckpt)  # its own: loads
    assert model.checkpoint_dataset_meta is None


def test_pretrained_init_without_prefix_is_an_error(pretrain_ckpt):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(DEMO_CFG)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=pretrain_ckpt)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        # the tools check every Pretrained init_cfg before initialising
        with pytest.raises(
                ValueError,
                match=r"densesiam\.pth: \d+ of the \d+ "
                r"tensors of ResNet are not in the file.*Set "
                r"prefix='backbone\.'"):
            check_pretrained_inits(model)
        cfg.model.backbone.init_cfg.prefix = 'backbone.'
        model = MODELS.build(cfg.model)
        assert check_pretrained_inits(model) == ['backbone']
        model.init_weights()
    expected = torch.load(pretrain_ckpt, weights_only=False)['state_dict']
    assert torch.equal(model.backbone.conv1.weight,
                       expected['backbone.conv1.weight'])
    assert torch.equal(model.backbone.layer1[0].bn2.weight,
                       expected['backbone.layer1.0.bn2.weight'])


# -- case 4: seg_demo keeps every output -------------------------------------
def test_seg_demo_names_stay_unique(seg_ckpt, tmp_path, monkeypatch):
    demo = load_script(DEMO)
    images = tmp_path / 'images'
    os.makedirs(images)
    from PIL import Image
    photo = Image.open(osp.join(DEMO_DATA, 'coffee.jpg')).convert('RGB')
    photo.resize((64, 48)).save(images / 'a.jpg')
    photo.rotate(180).resize((64, 48)).save(images / 'a.png')
    photo.resize((64, 48)).save(images / 'b.png')
    paths = [str(images / n) for n in ('a.jpg', 'a.png', 'b.png')]
    assert [osp.basename(p) for p in demo.output_paths(paths, 'out')] == \
        ['a_jpg.png', 'a_png.png', 'b.png']
    # writing next to the inputs never replaces an input image
    assert [osp.basename(p) for p in demo.output_paths(paths, str(images))] \
        == ['a_jpg.png', 'a_png.png', 'b_1.png']

    out = tmp_path / 'out'
    monkeypatch.setattr(
        sys, 'argv',
        [DEMO, str(images), SEG_CFG, seg_ckpt, '--out-dir',
         str(out)])
    demo.main()
    written = sorted(os.listdir(out))
    assert [n for n in written if n.endswith('.png')] == \
        ['a_jpg.png', 'a_png.png', 'b.png']
    digest = [
        hashlib.sha256(open(out / n, 'rb').read()).hexdigest()
        for n in ('a_jpg.png', 'a_png.png')
    ]
    assert digest[0] != digest[1]  # two overlays, none lost


# -- case 3: the backbone extractor never replaces its input ----------------
@pytest.fixture
def small_ckpt(tmp_path):
    path = str(tmp_path / 'train.pth')
    torch.save(
        dict(
            state_dict={
                'backbone.conv1.weight': torch.ones(2, 3),
                'neck.fc.weight': torch.ones(2)
            }), path)
    return path


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_extractor_refuses_to_overwrite_its_input(small_ckpt, tmp_path):
    extractor = load_script(EXTRACTOR)
    before = _sha(small_ckpt)
    link = str(tmp_path / 'link.pth')
    os.symlink(small_ckpt, link)
    hard = str(tmp_path / 'hard.pth')
    os.link(small_ckpt, hard)
    for out in (small_ckpt, link, hard):
        with pytest.raises(
                SystemExit, match=r'is the input checkpoint .*'
                r'train\.pth'):
            extractor.main([small_ckpt, out])
    with pytest.raises(SystemExit, match='is the input checkpoint'):
        extractor.main([link, small_ckpt])
    assert _sha(small_ckpt) == before


def test_extractor_names_an_unusable_output(small_ckpt, tmp_path):
    extractor = load_script(EXTRACTOR)
    with pytest.raises(
            SystemExit, match=f'the output {tmp_path} is a '
            'directory'):
        extractor.main([small_ckpt, str(tmp_path)])
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(
            SystemExit,
            match=f'cannot write {blocker}/out.pth: '
            f'{blocker} is not a directory'):
        extractor.main([small_ckpt, str(blocker / 'out.pth')])
    out = str(tmp_path / 'sub' / 'backbone.pth')
    extractor.main([small_ckpt, out])
    from densesiam_mm.checkpoint import load_checkpoint_file
    saved = load_checkpoint_file(out)
    assert list(saved['state_dict']) == ['conv1.weight']
    assert len(saved['meta']['sha256']) == 64  # verified on every load
    assert not osp.exists(out + '.partial')


def test_pretrained_init_accepts_a_few_new_layers(tmp_path):
    """A layer that fine-tuning adds (ViT's ``ln2`` in mmpretrain's MAE
    benchmark configs) keeps its init with a warning; a file that lacks more
    than 10 % of the backbone is still an error."""
    from mmengine.registry import WEIGHT_INITIALIZERS
    from mmpretrain.models import ResNet
    source = ResNet(depth=18).state_dict()
    few = {k: v for k, v in source.items() if not k.startswith('layer4.1.bn2')}
    many = {k: v for k, v in source.items() if not k.startswith('layer4')}
    torch.save({'state_dict': few}, str(tmp_path / 'few.pth'))
    torch.save({'state_dict': many}, str(tmp_path / 'many.pth'))
    model = ResNet(depth=18)
    WEIGHT_INITIALIZERS.build(
        dict(type='CheckedPretrained', checkpoint=str(tmp_path / 'few.pth')))(
            model)
    assert torch.equal(model.conv1.weight, source['conv1.weight'])
    with pytest.raises(
            ValueError,
            match=r'many\.pth: \d+ of the \d+ tensors '
            r'of ResNet are not in the file'):
        WEIGHT_INITIALIZERS.build(
            dict(
                type='CheckedPretrained',
                checkpoint=str(tmp_path / 'many.pth')))(
                    ResNet(depth=18))
