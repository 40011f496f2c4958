# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/model_converters/publish_model.py: OpenMMLab's publishing
(training state dropped, sha256 in the file name) with the checksum
restamped, the input never overwritten and an atomic write."""
import hashlib
import logging
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import (add_checksum, load_checkpoint_file,
                                     verify_checksum)
from ..conftest import REPO_ROOT, load_script

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters', 'publish_model.py')

tool = load_script(TOOL)


def _training_checkpoint(path):
    """What AtomicCheckpointHook writes: weights, optimizer, message hub
    (with HistoryBuffer), schedulers and meta with the checksum."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model(torch.randn(1, 3, 8, 8)).sum().backward()
    optimizer.step()
    hub = MessageHub('publish_test')
    hub.update_scalar('train/loss', 1.5)
    checkpoint = add_checksum(
        dict(
            meta=dict(iter=2, cfg='model = dict(type="DenseSiam")'),
            state_dict={
                f'backbone.{k}': v
                for k, v in model.state_dict().items()
            },
            optimizer=optimizer.state_dict(),
            message_hub=hub.state_dict(),
            param_schedulers=[dict(base_lrs=[0.05], last_step=2)]))
    torch.save(checkpoint, str(path))
    return str(path), checkpoint


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_publish_drops_training_state_and_restamps(tmp_path):
    src, original = _training_checkpoint(tmp_path / 'iter_2.pth')
    before = _sha(src)
    messages = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        summary = tool.publish(src, str(tmp_path / 'out' / 'model.pth'))
        published = load_checkpoint_file(summary['path'])
    finally:
        logger.removeHandler(handler)
    path = summary['path']
    assert re.fullmatch(r'model-[0-9a-f]{8}\.pth', osp.basename(path))
    assert _sha(path).startswith(path[-12:-4])  # the hash in the name
    assert sorted(os.listdir(tmp_path / 'out')) == [osp.basename(path)]
    assert sorted(published) == ['meta', 'state_dict']
    assert summary['dropped'] == [
        'message_hub', 'optimizer', 'param_schedulers'
    ]
    assert messages == []  # verified, not "modified" nor "corrupted"
    assert verify_checksum(published, path) is True
    assert published['meta']['cfg'] == original['meta']['cfg']
    for key, value in original['state_dict'].items():
        assert torch.equal(published['state_dict'][key], value)
    assert _sha(src) == before  # the input is untouched


def test_publish_cli_prints_the_file(tmp_path):
    src, _ = _training_checkpoint(tmp_path / 'iter_2.pth')
    proc = subprocess.run(
        [sys.executable, TOOL, src,
         str(tmp_path / 'model.pth')],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(
        r'model-[0-9a-f]{8}\.pth: .* dropped message_hub, '
        r'optimizer, param_schedulers; checksum restamped',
        proc.stdout), proc.stdout


@pytest.mark.parametrize('link', ['same', 'symlink', 'hardlink'])
def test_publish_never_overwrites_its_input(tmp_path, link):
    src, _ = _training_checkpoint(tmp_path / 'iter_2.pth')
    before = _sha(src)
    out = str(tmp_path / 'out.pth')
    if link == 'same':
        out = src
    elif link == 'symlink':
        os.symlink(src, out)
    else:
        os.link(src, out)
    with pytest.raises(SystemExit, match=r'out_file .* is the input file'):
        tool.main([src, out])
    assert _sha(src) == before


def test_republishing_into_its_own_name_is_refused(tmp_path):
    """Publishing a published file again gives the same bytes, hence the
    same name: the input itself."""
    src, _ = _training_checkpoint(tmp_path / 'iter_2.pth')
    first = tool.publish(src, str(tmp_path / 'model.pth'))['path']
    before = _sha(first)
    with pytest.raises(ValueError, match='is the input file'):
        tool.publish(first, str(tmp_path / 'model.pth'))
    assert _sha(first) == before


def test_publish_refuses_a_corrupted_input(tmp_path):
    src, checkpoint = _training_checkpoint(tmp_path / 'iter_2.pth')
    checkpoint['state_dict']['backbone.0.weight'][0, 0, 0, 0] += 1
    torch.save(checkpoint, src)
    with pytest.raises(SystemExit, match=r'iter_2\.pth is corrupted'):
        tool.main([src, str(tmp_path / 'model.pth')])
    assert not [p for p in os.listdir(tmp_path) if p.startswith('model')]
