# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/test.py: ``--show-dir`` paints predictions on the unsup-seg configs
and ``--out`` is checked before the test and written atomically (issue 18,
item 11).

Before: ``--show-dir`` failed on every unsup-seg config (``TypeError:
SegVisualizationHook.__init__() got an unexpected keyword argument
'show_dir'``); ``--out x.pth`` failed only after the whole test, losing its
metrics.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import densesiam_mm  # noqa: F401
from ..conftest import (REPO_ROOT, SHARED_DATA, config_path, load_script,
                        shared_path)

TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
CFG = config_path('unsup_seg', 'picie_resnet18-fpn_1xb8-3e_camvid.py')
# two val frames, one per batch
TINY = [
    '--cfg-options', 'test_dataloader.dataset.indices=2',
    'test_dataloader.batch_size=1'
]


def env():
    return dict(
        os.environ, DENSESIAM_SHARED_DATA=SHARED_DATA, OMP_NUM_THREADS='1')


def run_test(*args, checkpoint='unused.pth', work_dir):
    return subprocess.run([
        sys.executable, TEST, CFG,
        str(checkpoint), '--work-dir',
        str(work_dir), *args
    ],
                          cwd=REPO_ROOT,
                          env=env(),
                          capture_output=True,
                          text=True,
                          timeout=600)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The PiCIE CamVid model at its initial weights (every tensor)."""
    shared_path('camvid', 'images', 'val')
    os.environ.setdefault('DENSESIAM_SHARED_DATA', SHARED_DATA)
    from mmseg.registry import MODELS
    cfg = Config.fromfile(CFG)
    with DefaultScope.overwrite_default_scope('mmseg'):  # no leak
        model = MODELS.build(cfg.model)
        model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'picie.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return path


def test_show_dir_paints_and_out_keeps_the_metrics(checkpoint, tmp_path):
    show, out = tmp_path / 'show', tmp_path / 'sub' / 'metrics.json'
    proc = run_test(
        '--show-dir',
        str(show),
        '--out',
        str(out),
        *TINY,
        checkpoint=checkpoint,
        work_dir=tmp_path / 'work')
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    pictures = sorted((show / 'vis_data' / 'vis_image').glob('*.png'))
    assert len(pictures) == 2, pictures  # one per test image
    import mmcv
    picture = mmcv.imread(str(pictures[0]))
    assert picture.shape == (360, 2 * 480, 3)  # ground truth | prediction
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['mIoU'] <= 100 and 'IoU.Car' in metrics
    assert not list(out.parent.glob('*.partial'))


def test_out_pth_fails_before_the_test(tmp_path):
    proc = run_test(
        '--out',
        str(tmp_path / 'metrics.pth'),
        *TINY,
        work_dir=tmp_path / 'work')
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "--out" in proc.stderr, proc.stderr
    assert "unsupported suffix '.pth'" in proc.stderr, proc.stderr
    assert 'Epoch(test)' not in proc.stdout + proc.stderr
    assert not (tmp_path / 'work').exists()  # nothing ran


@pytest.mark.parametrize('out, expected',
                         [('folder.json', 'is a folder'),
                          ('afile/metrics.json', 'cannot write in'),
                          ('config.yaml', 'is the input file')])
def test_bad_out_is_refused_up_front(tmp_path, out, expected):
    (tmp_path / 'folder.json').mkdir()
    (tmp_path / 'afile').write_text('a file, not a folder')
    (tmp_path / 'config.yaml').write_text('an input')
    with pytest.raises(ValueError, match=expected) as err:
        load_script(TEST).check_out(
            str(tmp_path / out),
            [str(tmp_path / 'config.yaml'),
             str(tmp_path / 'ckpt.pth')])
    assert '--out' in str(err.value)
    assert (tmp_path / 'config.yaml').read_text() == 'an input'


def test_out_that_is_an_input_is_refused(tmp_path):
    ckpt = tmp_path / 'model.pkl'
    ckpt.write_bytes(b'checkpoint bytes')
    os.link(str(ckpt), str(tmp_path / 'link.pkl'))
    proc = run_test(
        '--out',
        str(tmp_path / 'link.pkl'),
        *TINY,
        checkpoint=ckpt,
        work_dir=tmp_path / 'work')
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'is the input file' in proc.stderr, proc.stderr
    assert ckpt.read_bytes() == b'checkpoint bytes'


def test_failed_write_prints_the_metrics(tmp_path, capsys):
    tool = load_script(TEST)
    out = tmp_path / 'metrics.json'
    out.write_text('{"old": 1}')
    metrics = {'mIoU': 12.5, 'aAcc': 40.0}

    def failing_dump(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    import mmengine.fileio
    saved = mmengine.fileio.dump
    mmengine.fileio.dump = failing_dump
    try:
        with pytest.raises(SystemExit, match='could not be written'):
            tool.save_metrics(metrics, str(out))
    finally:
        mmengine.fileio.dump = saved
    assert '"mIoU": 12.5' in capsys.readouterr().err
    assert out.read_text() == '{"old": 1}'  # untouched, no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ['metrics.json']
    tool.save_metrics(metrics, str(out))
    assert json.loads(out.read_text()) == metrics
