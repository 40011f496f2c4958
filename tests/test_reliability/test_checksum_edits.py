# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A checkpoint edited on purpose is not "corrupted" (issue 18, item 8).

Publishing keeps ``meta`` but drops the optimizer, removes keys or casts the
weights to float16. Before, the checksum check reported each of these as
"corrupted ... copy it again". Now a file whose remaining tensors match
their per-tensor digests loads with a warning saying what was modified;
flipped bytes in a tensor are still an error naming the file and the
tensor; a restamped file verifies silently.
"""
import logging
import struct
import zipfile

import pytest
import torch
from mmengine.logging import MMLogger

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import (CheckpointFileError, add_checksum,
                                     load_checkpoint_file, verify_checksum)


@pytest.fixture
def warnings_logged():
    messages = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def _training_checkpoint():
    """An mmengine-style checkpoint as ``AtomicCheckpointHook`` writes it:
    weights, SGD momentum, scheduler state and meta with the checksum."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Flatten(),
        torch.nn.Linear(8 * 6 * 6, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    optimizer.step()
    checkpoint = dict(
        meta=dict(iter=2, cfg='model = dict(type="X")'),
        state_dict=model.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(base_lrs=[0.05], last_step=2)])
    return add_checksum(checkpoint)


def _flip_tensor_bytes(path):
    """Invert 16 bytes in the middle of the largest tensor record."""
    with zipfile.ZipFile(path) as archive:
        record = max((i for i in archive.infolist() if '/data/' in i.filename),
                     key=lambda i: i.file_size)
    with open(path, 'rb+') as f:
        f.seek(record.header_offset + 26)
        name_len, extra_len = struct.unpack('<HH', f.read(4))
        start = record.header_offset + 30 + name_len + extra_len + \
            record.file_size // 2
        f.seek(start)
        data = f.read(16)
        f.seek(start)
        f.write(bytes(b ^ 0xFF for b in data))


def _drop_optimizer(ckpt):
    del ckpt['optimizer']


def _drop_key(ckpt):
    del ckpt['state_dict']['3.bias']


def _to_fp16(ckpt):
    ckpt['state_dict'] = {
        k: v.half() if v.is_floating_point() else v
        for k, v in ckpt['state_dict'].items()
    }


def _publish(ckpt):  # what tools/model_converters/publish_model.py drops
    _drop_optimizer(ckpt)
    del ckpt['param_schedulers']
    _to_fp16(ckpt)


@pytest.mark.parametrize('edit, expected', [
    (_drop_optimizer, ['optimizer removed']),
    (_drop_key, ['1 tensor(s) removed from state_dict (e.g. 3.bias)']),
    (_to_fp16, ['8 tensor(s) cast from float32 to float16']),
    (_publish,
     ['optimizer removed', '8 tensor(s) cast from float32 to float16']),
])
def test_edit_keeping_meta_is_modified_not_corrupted(tmp_path, warnings_logged,
                                                     edit, expected):
    path = str(tmp_path / 'edited.pth')
    ckpt = _training_checkpoint()
    edit(ckpt)  # meta (and its checksum) kept as it was
    torch.save(ckpt, path)
    loaded = load_checkpoint_file(path)  # no error
    assert loaded['meta']['iter'] == 2
    message = '\n'.join(warnings_logged)
    assert f'{path} was modified after it was written' in message, message
    for text in expected:
        assert text in message, message
    assert 'corrupted' not in message
    assert 'not verified' in message and 'publish_model.py' in message


def test_flipped_bytes_are_still_corruption(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    torch.save(_training_checkpoint(), path)
    _flip_tensor_bytes(path)
    with pytest.raises(
            CheckpointFileError,
            match=r'iter_2\.pth is corrupted: .*with their saved name, '
            r'dtype and shape hold other bytes: .*copy it again'):
        load_checkpoint_file(path)

    # an edited file whose kept tensors changed value is corrupted as well
    ckpt = _training_checkpoint()
    _drop_optimizer(ckpt)
    ckpt['state_dict']['0.weight'][0, 0, 0, 0] += 1
    torch.save(ckpt, path)
    with pytest.raises(
            CheckpointFileError, match=r'iter_2\.pth is corrupted.*0\.weight'):
        load_checkpoint_file(path)


def test_restamped_edit_verifies_silently(tmp_path, warnings_logged):
    path = str(tmp_path / 'published.pth')
    ckpt = _training_checkpoint()
    _publish(ckpt)
    torch.save(add_checksum(ckpt), path)
    loaded = load_checkpoint_file(path)
    assert verify_checksum(loaded, path) is True
    assert warnings_logged == []


def test_checksum_without_digests_reports_any_change(tmp_path):
    """A checkpoint written before the per-tensor digests (only
    ``meta['sha256']``) can only be verified as a whole."""
    path = str(tmp_path / 'old.pth')
    ckpt = _training_checkpoint()
    del ckpt['meta']['sha256_tensors']
    _drop_optimizer(ckpt)
    torch.save(ckpt, path)
    with pytest.raises(CheckpointFileError, match=r'old\.pth is corrupted'):
        load_checkpoint_file(path)


def test_extracted_backbone_is_restamped(tmp_path, warnings_logged):
    """extract_backbone_weights.py edits a checkpoint: its output carries a
    fresh checksum and digests, and verifies silently."""
    import subprocess
    import sys

    from ..conftest import REPO_ROOT
    src, out = str(tmp_path / 'iter_2.pth'), str(tmp_path / 'backbone.pth')
    ckpt = _training_checkpoint()
    ckpt['state_dict'] = {
        f'backbone.{k}': v
        for k, v in ckpt['state_dict'].items()
    }
    torch.save(add_checksum(ckpt), src)
    tool = f'{REPO_ROOT}/tools/model_converters/extract_backbone_weights.py'
    proc = subprocess.run([sys.executable, tool, src, out],
                          cwd=REPO_ROOT,
                          env=dict(
                              __import__('os').environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    extracted = load_checkpoint_file(out)
    assert len(extracted['meta']['sha256_tensors']) == 9
    assert verify_checksum(extracted, out) is True
    assert warnings_logged == []
