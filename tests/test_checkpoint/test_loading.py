# Copyright (c) densesiam_mm contributors. All rights reserved.
import collections
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import load_checkpoint

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import (CheckpointFileError, load_checkpoint_file,
                                     read_model_weights)


def _hub_checkpoint(path):
    hub = MessageHub.get_instance('test_ckpt')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 2.5)
    torch.save(
        dict(
            meta=dict(iter=3, seed=np.int64(7), lr=np.float64(0.1)),
            state_dict=collections.OrderedDict(w=torch.ones(2)),
            message_hub=hub.state_dict()), path)


def test_mmengine_state_loads_weights_only(tmp_path, monkeypatch):
    """mmengine's own HistoryBuffer pickles its statistics methods as
    ``builtins.getattr(HistoryBuffer, 'min')``; after the import, the
    allow-list resolves it to the restricted getattr, so plain
    ``torch.load`` (weights_only) reads the whole checkpoint."""
    path = str(tmp_path / 'ckpt.pth')
    _hub_checkpoint(path)
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint
    assert unsafe(path) == []
    stock = torch.load(path)  # torch's default: weights_only=True
    monkeypatch.setenv('DENSESIAM_WEIGHTS_ONLY', 'strict')
    ckpt = load_checkpoint_file(path)
    assert ckpt['meta']['seed'] == 7
    for loaded in (ckpt, stock):
        buffer = loaded['message_hub']['log_scalars']['train/loss']
        assert buffer.mean() == 2.0 and buffer.current() == 2.5


class Arbitrary:
    pass


class OtherGetattr:
    """Pickles as ``builtins.getattr(HistoryBuffer, 'update')``: the one
    allowed callable with arguments the restriction refuses."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, 'update')


def test_only_history_buffer_statistics_pass_getattr(tmp_path, monkeypatch):
    monkeypatch.delenv('DENSESIAM_TRUST_CHECKPOINT', raising=False)
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(state_dict={'w': torch.zeros(1)}, x=OtherGetattr()), path)
    with pytest.raises(
            Exception,
            match=r"getattr\(HistoryBuffer, 'update'\) "
            'is not allowed'):
        torch.load(path)  # weights_only=True, torch's default
    with pytest.raises(CheckpointFileError, match=r'getattr\.pth'):
        load_checkpoint_file(path)


class RunsCode:
    """Unpickling it calls ``_touch`` (what a hostile file would do)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return _touch, (self.path, )


def _touch(path):
    with open(path, 'w') as f:
        f.write('ran')
    return path


def test_other_objects_refused_unless_trusted(tmp_path, monkeypatch):
    monkeypatch.delenv('DENSESIAM_TRUST_CHECKPOINT', raising=False)
    monkeypatch.delenv('DENSESIAM_WEIGHTS_ONLY', raising=False)
    path = str(tmp_path / 'odd.pth')
    torch.save(dict(obj=Arbitrary(), state_dict={'w': torch.zeros(1)}), path)
    with pytest.raises(
            CheckpointFileError,
            match=r'odd\.pth holds Python objects .*Arbitrary.*'
            r'DENSESIAM_TRUST_CHECKPOINT=1'):
        load_checkpoint_file(path)
    with pytest.raises(CheckpointFileError, match='odd.pth'):
        read_model_weights(path)
    monkeypatch.setenv('DENSESIAM_TRUST_CHECKPOINT', '1')
    assert isinstance(load_checkpoint_file(path)['obj'], Arbitrary)
    monkeypatch.setenv('DENSESIAM_WEIGHTS_ONLY', 'strict')  # wins
    with pytest.raises(
            ValueError, match=r'odd\.pth .*DENSESIAM_WEIGHTS_ONLY=strict'):
        load_checkpoint_file(path)


def test_refusal_comes_before_any_unpickling(tmp_path, monkeypatch):
    monkeypatch.delenv('DENSESIAM_TRUST_CHECKPOINT', raising=False)
    marker = str(tmp_path / 'marker')
    path = str(tmp_path / 'hostile.pth')
    torch.save(
        dict(state_dict={'w': torch.zeros(1)}, meta=dict(x=RunsCode(marker))),
        path)
    with pytest.raises(CheckpointFileError, match=r'hostile\.pth.*_touch'):
        load_checkpoint_file(path)
    assert not osp.exists(marker)
    monkeypatch.setenv('DENSESIAM_TRUST_CHECKPOINT', '1')
    assert load_checkpoint_file(path)['meta']['x'] == marker
    assert osp.exists(marker)  # the opt-in does run the file's code


def test_not_a_checkpoint_names_the_file(tmp_path):
    path = tmp_path / 'notes.txt'
    path.write_text('hello')
    with pytest.raises(ValueError, match='notes.txt'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_mmengine_load_checkpoint_reads_numpy_meta(tmp_path):
    """mmengine's own, unmodified loader: numpy ``meta`` loads with
    ``weights_only`` through the process-wide allow-list."""
    model = torch.nn.Linear(2, 2)
    path = str(tmp_path / 'model.pth')
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(x=np.float32(1))), path)
    other = torch.nn.Linear(2, 2)
    load_checkpoint(other, path)
    torch.testing.assert_close(other.weight, model.weight)
