# Copyright (c) densesiam_mm contributors. All rights reserved.
import collections

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import load_checkpoint

import densesiam_mm  # noqa: F401
from densesiam_mm.utils import load_checkpoint_file


def test_mmengine_state_loads_weights_only(tmp_path, monkeypatch):
    hub = MessageHub.get_instance('test_ckpt')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 2.5)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(
        dict(
            meta=dict(iter=3, seed=np.int64(7), lr=np.float64(0.1)),
            state_dict=collections.OrderedDict(w=torch.ones(2)),
            message_hub=hub.state_dict()), path)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) and \
        'builtins.getattr' not in \
        torch.serialization.get_unsafe_globals_in_checkpoint(path)
    monkeypatch.setenv('DENSESIAM_WEIGHTS_ONLY', 'strict')
    ckpt = load_checkpoint_file(path)
    assert ckpt['meta']['seed'] == 7
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert buffer.mean() == 2.0 and buffer.current() == 2.5


class Arbitrary:
    pass


def test_other_objects_fall_back_or_refuse(tmp_path, monkeypatch):
    path = str(tmp_path / 'odd.pth')
    torch.save(dict(obj=Arbitrary(), state_dict={'w': torch.zeros(1)}), path)
    monkeypatch.setenv('DENSESIAM_WEIGHTS_ONLY', 'strict')
    with pytest.raises(ValueError, match='odd.pth'):
        load_checkpoint_file(path)
    monkeypatch.setenv('DENSESIAM_WEIGHTS_ONLY', 'auto')
    assert isinstance(load_checkpoint_file(path)['obj'], Arbitrary)


def test_not_a_checkpoint_names_the_file(tmp_path):
    path = tmp_path / 'notes.txt'
    path.write_text('hello')
    with pytest.raises(ValueError, match='notes.txt'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_mmengine_load_checkpoint_uses_the_patched_loader(tmp_path):
    model = torch.nn.Linear(2, 2)
    path = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(x=np.float32(1))),
               path)
    other = torch.nn.Linear(2, 2)
    load_checkpoint(other, path)
    torch.testing.assert_close(other.weight, model.weight)
