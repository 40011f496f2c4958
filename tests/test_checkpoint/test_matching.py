# Copyright (c) densesiam_mm contributors. All rights reserved.
from collections import OrderedDict

import pytest
import torch
from mmengine.model import BaseModule

from densesiam_mm.checkpoint import (CheckpointFileError,
                                     check_pretrained_inits, extract_prefix,
                                     match_state_dict, select_prefix,
                                     suggest_prefix, unwrap_state_dict)


def test_unwrap_takes_the_weights_entry_and_strips_ddp():
    w = torch.zeros(1)
    expected = OrderedDict([('conv.weight', w), ('bn.bias', w)])
    ddp = dict(state_dict={'module.conv.weight': w, 'bn.bias': w}, meta={})
    release = dict(model={'conv.weight': w, 'module.bn.bias': w}, epoch=3)
    bare = {'conv.weight': w, 'bn.bias': w, 'step': 7}
    for checkpoint in (ddp, release, bare):
        assert unwrap_state_dict(checkpoint) == expected
    # only one leading ``module.`` goes; a non-dict entry is not taken
    assert list(unwrap_state_dict({'module.module.x': w})) == ['module.x']
    assert list(unwrap_state_dict({'state_dict': 'x', 'y': w})) == ['y']
    assert unwrap_state_dict([w]) == {}


def test_prefix_selection():
    w = torch.zeros(1)
    sd = OrderedDict([('backbone.a', w), ('backbone.b', w), ('neck.c', w),
                      ('backbonex.d', w)])
    assert list(select_prefix(sd, 'backbone')) == ['a', 'b']
    assert list(select_prefix(sd, 'backbone.')) == ['a', 'b']
    assert list(extract_prefix(sd, 'neck', 'f.pth')) == ['c']
    with pytest.raises(
            CheckpointFileError,
            match=r'f\.pth has no backbone weights: no key '
            r'starts with "head\."'):
        extract_prefix(sd, 'head', 'f.pth')
    with pytest.raises(CheckpointFileError, match='backbone-only file'):
        extract_prefix({'conv1.weight': w, 'layer1.0.w': w}, 'backbone.')


def test_match_by_name_and_shape():
    expected = OrderedDict([('a', (2, 3)), ('b', (4, )), ('c', (1, )),
                            ('bn.num_batches_tracked', ())])
    given = {'a': torch.zeros(2, 3), 'b': torch.zeros(5), 'x': torch.zeros(1)}
    match = match_state_dict(expected, given)
    assert match.matched == ['a']
    assert match.wrong_shape == ['b']
    assert match.missing == ['c']  # the BN counter is optional
    assert match.unexpected == ['x']
    assert match.not_loaded == ['c', 'b']
    full = match_state_dict(expected, {
        k: torch.zeros(s)
        for k, s in expected.items()
    })
    assert full.not_loaded == [] and full.unexpected == []


def test_suggest_prefix():
    expected = {'conv.weight': (2, 2)}
    sd = {
        'backbone.conv.weight': torch.zeros(2, 2),
        'head.conv.weight': torch.zeros(3, 3)
    }
    assert suggest_prefix(expected, sd) == 'backbone.'
    assert suggest_prefix(expected, {'x.y': torch.zeros(1)}) is None


class Net(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv = torch.nn.Conv2d(2, 2, 1)
        self.bn = torch.nn.BatchNorm2d(2)


def test_check_pretrained_inits_then_mmengine_loads(tmp_path):
    source = Net()
    torch.nn.init.constant_(source.conv.weight, 3.)
    path = str(tmp_path / 'full.pth')
    torch.save(
        {
            'state_dict': {
                'backbone.' + k: v
                for k, v in source.state_dict().items()
            }
        }, path)
    lines = []
    # no prefix: nothing of the file fits -> an error naming the prefix
    with pytest.raises(
            ValueError,
            match=r"full\.pth: .*Set prefix="
            r"'backbone\.' in the init_cfg: with it 7 tensors"):
        check_pretrained_inits(Net(dict(type='Pretrained', checkpoint=path)))
    for kind in ('Pretrained', 'CheckedPretrained'):
        net = Net([
            dict(type='Constant', val=0, layer='Conv2d'),
            dict(type=kind, checkpoint=path, prefix='backbone.')
        ])
        assert check_pretrained_inits(net, lines.append) == ['model']
        # mmengine's own Pretrained does the load (type rewritten in place)
        assert net.init_cfg[1] == dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')
        net.init_weights()
        assert torch.equal(net.conv.weight, source.conv.weight)
    assert len(lines) == 2 and 'checked' in lines[0]
    # remote files are left to mmengine
    net = Net(dict(type='Pretrained', checkpoint='torchvision://resnet18'))
    assert check_pretrained_inits(net) == []
