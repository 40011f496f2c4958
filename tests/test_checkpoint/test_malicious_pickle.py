# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A checkpoint whose pickle runs code never runs it (issue 18, item 1).

The file holds a ``meta`` entry whose ``__reduce__`` calls
``builtins.exec`` to create a marker file. In fresh processes that
``import densesiam_mm``:

(a) mmengine's own loaders (``mmengine.runner.load_checkpoint``,
    ``CheckpointLoader.load_checkpoint``) raise, the marker never appears
    (before issue 17, the import made them fall back to
    ``weights_only=False`` and the payload ran);
(b) :func:`densesiam_mm.checkpoint.load_checkpoint_file` raises
    ``CheckpointFileError`` naming the file and the opt-in, marker absent;
(c) ``tools/train.py --cfg-options load_from=<file>`` refuses it before
    training, marker absent;
(d) only with ``DENSESIAM_TRUST_CHECKPOINT=1`` does our loader unpickle it
    -- and then the marker appears, which proves that the payload works.
"""
import os
import os.path as osp
import subprocess
import sys

import torch

from ..conftest import REPO_ROOT, config_path

DEMO_CFG = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-60i_demo.py')


class Payload:
    """Unpickles to ``exec(code)``: writes ``marker`` when loaded."""

    def __init__(self, marker):
        self.code = (f'open({marker!r}, "w").write("EVIL CODE EXECUTED"); '
                     'print("EVIL CODE EXECUTED")')

    def __reduce__(self):
        return exec, (self.code, )


def _hostile_checkpoint(tmp_path):
    marker = str(tmp_path / 'marker')
    path = str(tmp_path / 'hostile.pth')
    torch.save(
        dict(
            state_dict={'backbone.conv1.weight': torch.zeros(64, 3, 7, 7)},
            meta=dict(note=Payload(marker))), path)
    return path, marker


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    env.pop('DENSESIAM_TRUST_CHECKPOINT', None)
    env.pop('DENSESIAM_WEIGHTS_ONLY', None)
    env.update(extra)
    return env


def _python(code, *args, **extra_env):
    return subprocess.run([sys.executable, '-c', code, *args],
                          cwd=REPO_ROOT,
                          env=_env(**extra_env),
                          capture_output=True,
                          text=True,
                          timeout=300)


# Each loader is tried in turn; the marker is checked after each one.
LOADERS = r'''
import os.path as osp
import sys
import torch
import densesiam_mm  # noqa: F401
from mmengine.runner import CheckpointLoader, load_checkpoint

path, marker = sys.argv[1:]


def attempt(name, load):
    try:
        load()
        result = 'loaded'
    except Exception as err:
        result = f'{type(err).__name__}: {err}'.replace('\n', ' ')
    print(f'{name}|{osp.exists(marker)}|{result}', flush=True)


attempt('mmengine.load_checkpoint', lambda: load_checkpoint(
    torch.nn.Conv2d(3, 64, 7), path, map_location='cpu'))
attempt('CheckpointLoader', lambda: CheckpointLoader.load_checkpoint(
    path, map_location='cpu'))
from densesiam_mm.checkpoint import load_checkpoint_file  # noqa: E402
attempt('load_checkpoint_file', lambda: load_checkpoint_file(path))
'''


def _attempts(stdout):
    rows = {}
    for line in stdout.splitlines():
        name, marker, result = (line.split('|', 2) + ['', ''])[:3]
        if name in ('mmengine.load_checkpoint', 'CheckpointLoader',
                    'load_checkpoint_file'):
            rows[name] = (marker == 'True', result)
    return rows


def test_hostile_pickle_never_runs(tmp_path):
    path, marker = _hostile_checkpoint(tmp_path)

    # (a), (b): mmengine's loaders and ours, after `import densesiam_mm`
    proc = _python(LOADERS, path, marker)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'EVIL CODE EXECUTED' not in out, out[-3000:]
    assert not osp.exists(marker), out[-3000:]
    rows = _attempts(proc.stdout)
    assert len(rows) == 3, out[-3000:]
    for name, (ran, result) in rows.items():
        assert not ran, f'{name} ran the payload: {result}'
        assert result != 'loaded', f'{name} loaded the file'
    ours = rows['load_checkpoint_file'][1]
    assert ours.startswith('CheckpointFileError'), ours
    assert path in ours and 'DENSESIAM_TRUST_CHECKPOINT=1' in ours, ours
    assert 'builtins.exec' in ours, ours

    # (c) a training whose load_from is the file stops before training
    work_dir = str(tmp_path / 'work')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), DEMO_CFG, '--work-dir',
        work_dir, '--cfg-options', f'load_from={path}', 'train_cfg.max_iters=1'
    ],
                          cwd=REPO_ROOT,
                          env=_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert 'EVIL CODE EXECUTED' not in out and not osp.exists(marker)
    assert f'{path} holds Python objects' in out, out[-3000:]
    assert 'DENSESIAM_TRUST_CHECKPOINT=1' in out, out[-3000:]
    assert not osp.exists(osp.join(work_dir, 'iter_1.pth'))

    # DENSESIAM_WEIGHTS_ONLY=strict refuses even with the opt-in
    proc = _python(
        LOADERS,
        path,
        marker,
        DENSESIAM_TRUST_CHECKPOINT='1',
        DENSESIAM_WEIGHTS_ONLY='strict')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not osp.exists(marker), proc.stdout[-3000:]
    assert 'DENSESIAM_WEIGHTS_ONLY=strict' in proc.stdout

    # (d) only the explicit opt-in unpickles it: then the payload does run
    code = ('import sys; import densesiam_mm; from densesiam_mm.checkpoint '
            'import load_checkpoint_file; load_checkpoint_file(sys.argv[1])')
    proc = _python(code, path, DENSESIAM_TRUST_CHECKPOINT='1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.exists(marker), 'the test payload does not work'
    assert 'weights_only=False (DENSESIAM_TRUST_CHECKPOINT=1)' in \
        proc.stdout + proc.stderr
