# Copyright (c) densesiam_mm contributors. All rights reserved.
"""AtomicLocalBackend: a complete file or the previous one, never half."""
import errno
import os

import pytest
from mmengine.fileio import LocalBackend, get_file_backend

from densesiam_mm.engine.fileio import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend


def test_registered_under_a_new_name():
    backend = get_file_backend(
        '/tmp/x.pth', backend_args=dict(backend=ATOMIC_LOCAL_BACKEND))
    assert type(backend) is AtomicLocalBackend
    assert isinstance(backend, LocalBackend)
    # the default for local paths is still mmengine's
    assert type(get_file_backend('/tmp/x.pth')) is LocalBackend


def test_put_and_put_text(tmp_path):
    backend = AtomicLocalBackend()
    target = tmp_path / 'sub' / 'a.pth'
    backend.put(b'new', target)
    assert target.read_bytes() == b'new'
    backend.put_text('tëxt', str(tmp_path / 'b.txt'))
    assert (tmp_path / 'b.txt').read_text(encoding='utf-8') == 'tëxt'
    assert sorted(os.listdir(tmp_path)) == ['b.txt', 'sub']


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'previous')

    def full_disk(self, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:2])
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(LocalBackend, 'put', full_disk)
    with pytest.raises(
            OSError,
            match=r'cannot write .*iter_2\.pth: no '
            'space left on device; the partial file was removed'):
        AtomicLocalBackend().put(b'new content', str(target))
    assert target.read_bytes() == b'previous'
    assert os.listdir(tmp_path) == ['iter_2.pth']
