# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Tools that write a file never write over one of their inputs (same path,
symlink, hard link) and never leave a truncated output (issue 18, items 2
and 3): the converters, the picture tools and the COCO-Stuff converter."""
import builtins
import errno
import hashlib
import json
import os
import os.path as osp
import resource
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ..conftest import DEMO_DATA, REPO_ROOT, load_script

TOOLS = osp.join(REPO_ROOT, 'tools')
TO_VIT = osp.join(TOOLS, 'model_converters', 'siameseim_to_vit.py')
EXTRACT = osp.join(TOOLS, 'model_converters', 'extract_backbone_weights.py')
CORRESPONDENCE = osp.join(TOOLS, 'analysis', 'visualize_correspondence.py')
DENSE_FEATURES = osp.join(TOOLS, 'analysis', 'visualize_dense_features.py')
SCALARS = osp.join(TOOLS, 'analysis', 'plot_train_scalars.py')
PER_CLASS = osp.join(TOOLS, 'analysis', 'plot_per_class_iou.py')
COCOSTUFF = osp.join(TOOLS, 'dataset_converters', 'cocostuff27.py')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _module(path):
    # names of their own, apart from the other test files' copies
    return load_script(path,
                       'write_safety_' + osp.splitext(osp.basename(path))[0])


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _links(path, tmp_path):
    """``path`` itself, a symlink to it and a hard link to it."""
    stem, ext = osp.splitext(osp.basename(path))
    link = str(tmp_path / f'{stem}_symlink{ext}')
    os.symlink(path, link)
    hard = str(tmp_path / f'{stem}_hardlink{ext}')
    os.link(path, hard)
    return [path, link, hard]


def _siameseim_ckpt(path, big=False):
    """A SiameseIM training checkpoint in our layout (online encoder, EMA
    target, head); ``big``: 1.2 MB of extra backbone weights."""
    width = 8
    state = {
        'backbone.cls_token': torch.zeros(1, 1, width),
        'backbone.pos_embed': torch.zeros(1, 5, width),
        'backbone.patch_embed.projection.weight':
        torch.randn(width, 3, 16, 16),
        'backbone.layers.0.ln1.weight': torch.ones(width),
        'target_net.layers.0.ln1.weight': torch.ones(width),
        'head.fc.weight': torch.ones(width, width),
    }
    if big:
        state['backbone.layers.0.ffn.layers.1.weight'] = torch.randn(300000)
    torch.save(dict(state_dict=state, meta=dict(iter=1)), path)
    return str(path)


def _densesiam_ckpt(path, big=False):
    state = {
        'backbone.layer1.0.conv1.weight': torch.randn(4, 4, 1, 1),
        'neck.fc.weight': torch.ones(2, 2),
    }
    if big:
        state['backbone.layer1.0.conv2.weight'] = torch.randn(300000)
    torch.save(dict(state_dict=state, meta=dict(iter=1)), path)
    return str(path)


CONVERTERS = [(TO_VIT, _siameseim_ckpt), (EXTRACT, _densesiam_ckpt)]


@pytest.mark.parametrize('tool, make', CONVERTERS)
def test_converter_refuses_to_write_over_its_input(tool, make, tmp_path):
    """Was: ``siameseim_to_vit.py X X`` (or through a link) replaced the
    training checkpoint by the converted file, exit 0."""
    ckpt = make(tmp_path / 'iter_1.pth')
    before = _sha(ckpt)
    converter = _module(tool)
    for out in _links(ckpt, tmp_path):
        with pytest.raises(SystemExit) as exc:
            converter.main([ckpt, out])
        message = str(exc.value)
        assert 'the output ' + out in message and 'is the input' in message
        assert _sha(ckpt) == before and not osp.islink(ckpt)
    # the input named through the symlink, the output the file itself
    with pytest.raises(SystemExit, match='is the input'):
        converter.main([str(tmp_path / 'iter_1_symlink.pth'), ckpt])
    assert _sha(ckpt) == before
    # the command line: non-zero exit, the message, nothing written
    proc = subprocess.run([sys.executable, tool, ckpt, ckpt],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0 and 'is the input' in proc.stderr, \
        proc.stderr[-2000:]
    assert _sha(ckpt) == before
    assert not osp.exists(ckpt + '.partial')


def _limit_file_size():
    # a disk that fills after 256 kB: every write past it fails (EFBIG),
    # also torch's own C++ writer; Python ignores SIGXFSZ
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 18, 1 << 18))


@pytest.mark.parametrize('tool, make', CONVERTERS)
def test_converter_on_a_full_disk_leaves_no_truncated_file(
        tool, make, tmp_path):
    """Was (siameseim_to_vit): a truncated file and a raw
    ``inline_container.cc`` error."""
    ckpt = make(tmp_path / 'iter_1.pth', big=True)
    assert osp.getsize(ckpt) > 1 << 20
    out = str(tmp_path / 'converted.pth')
    proc = subprocess.run([sys.executable, tool, ckpt, out],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          preexec_fn=_limit_file_size)
    assert proc.returncode != 0
    assert not osp.exists(out), 'a truncated output was left'
    assert not osp.exists(out + '.partial')
    last = proc.stderr.strip().splitlines()[-1]
    assert f'cannot write {out}' in last and 'inline_container' not in last, \
        proc.stderr[-2000:]


class _FullDisk:
    """A file on a disk that is full after ``room`` bytes (ENOSPC)."""

    def __init__(self, file, room=4096):
        self.file = file
        self.room = room

    def write(self, data):
        if len(data) > self.room:
            self.file.write(bytes(data[:self.room]))
            self.room = 0
            self.file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


@pytest.fixture
def full_disk(monkeypatch):
    """Files opened for writing by the atomic writers fill the disk after
    4 kB."""
    from densesiam_mm.checkpoint import atomic

    def open_on_full_disk(path, mode='r', *args, **kwargs):
        file = builtins.open(path, mode, *args, **kwargs)
        return _FullDisk(file) if 'w' in mode else file

    monkeypatch.setattr(atomic, 'open', open_on_full_disk, raising=False)


@pytest.mark.parametrize('tool, make', CONVERTERS)
def test_converter_disk_full_keeps_the_previous_output(tool, make, tmp_path,
                                                       full_disk):
    ckpt = make(tmp_path / 'iter_1.pth', big=True)
    out = tmp_path / 'converted.pth'
    out.write_bytes(b'the previous conversion')
    with pytest.raises(SystemExit) as exc:
        _module(tool).main([ckpt, str(out)])
    message = str(exc.value)
    assert f'cannot write {out}: no space left on device' in message, message
    assert out.read_bytes() == b'the previous conversion'
    assert not osp.exists(str(out) + '.partial')


@pytest.fixture
def photo(tmp_path):
    path = str(tmp_path / 'photo.jpg')
    shutil.copyfile(osp.join(DEMO_DATA, 'coffee.jpg'), path)
    return path


def _refused(main, argv, out, *inputs):
    before = [_sha(p) for p in inputs]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert '--out ' + out in str(exc.value) and 'is the input' in \
        str(exc.value), exc.value
    assert [_sha(p) for p in inputs] == before


def test_visualize_correspondence_refuses_to_draw_over_its_photo(
        photo, tmp_path):
    """Was: ``--out`` equal to the input photo overwrote it, exit 0."""
    tool = _module(CORRESPONDENCE)
    for out in _links(photo, tmp_path):
        _refused(tool.main, [photo, '--out', out], out, photo)
    config = str(tmp_path / 'config.py')
    shutil.copyfile(tool.DEFAULT_CONFIG, config)
    _refused(tool.main, [photo, '--config', config, '--out', config], config,
             config)
    with pytest.raises(SystemExit, match='--out .*not an image file name'):
        tool.main([photo, '--out', str(tmp_path / 'picture')])


def test_visualize_dense_features_refuses_to_draw_over_its_inputs(
        photo, tmp_path):
    """Was: ``--out`` equal to the input photo overwrote it, exit 0."""
    tool = _module(DENSE_FEATURES)
    for out in _links(photo, tmp_path):
        _refused(tool.main, [photo, '--checkpoints', 'random', '--out', out],
                 out, photo)
    ckpt = _densesiam_ckpt(tmp_path / 'densesiam.pth')
    _refused(tool.main, [photo, '--checkpoints', ckpt, '--out', ckpt], ckpt,
             ckpt)


def test_visualize_dense_features_disk_full_keeps_the_previous_picture(
        photo, tmp_path, full_disk):
    tool = _module(DENSE_FEATURES)
    out = tmp_path / 'features.png'
    out.write_bytes(b'the previous picture')
    with pytest.raises(OSError, match=f'cannot write {out}: no space left'):
        tool.main([
            photo, '--checkpoints', 'random', '--scale', '64', '48',
            '--height', '48', '--out',
            str(out)
        ])
    assert out.read_bytes() == b'the previous picture'
    assert not osp.exists(str(out) + '.partial')


@pytest.fixture
def scalars_dir(tmp_path):
    logs = tmp_path / 'work' / '20240101_000000' / 'vis_data'
    logs.mkdir(parents=True)
    rows = [dict(iter=i, lr=0.1, loss=1.0 / i) for i in range(1, 4)]
    (logs / 'scalars.json').write_text(''.join(
        json.dumps(r) + '\n' for r in rows))
    return str(tmp_path / 'work'), str(logs / 'scalars.json')


def test_plot_train_scalars_refuses_to_draw_over_its_log(
        scalars_dir, tmp_path):
    tool = _module(SCALARS)
    work_dir, log = scalars_dir
    for out in _links(log, tmp_path):
        _refused(tool.main, [work_dir, '--out', out], out, log)
    out = str(tmp_path / 'figures' / 'loss.png')
    tool.main([work_dir, '--out', out])
    with open(out, 'rb') as f:
        assert f.read(8) == PNG_SIGNATURE
    assert not osp.exists(out + '.partial')


@pytest.fixture
def metrics(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text(
        json.dumps({
            'mIoU': 30.0,
            'IoU.sky': 50.0,
            'IoU.road': 10.0
        }))
    return str(path)


def test_plot_per_class_iou_refuses_to_draw_over_its_metrics(
        metrics, tmp_path):
    tool = _module(PER_CLASS)
    for out in _links(metrics, tmp_path):
        _refused(tool.main, [metrics, '--out', out], out, metrics)
    out = str(tmp_path / 'iou.png')
    tool.main([metrics, '--out', out])
    with open(out, 'rb') as f:
        assert f.read(8) == PNG_SIGNATURE


def test_plot_per_class_iou_disk_full_keeps_the_previous_picture(
        metrics, tmp_path, full_disk):
    tool = _module(PER_CLASS)
    out = tmp_path / 'iou.png'
    out.write_bytes(b'the previous picture')
    with pytest.raises(OSError, match=f'cannot write {out}: no space left'):
        tool.main([metrics, '--out', str(out)])
    assert out.read_bytes() == b'the previous picture'
    assert not osp.exists(str(out) + '.partial')


def test_cocostuff_converter_refuses_output_folders_that_are_its_inputs(
        tmp_path):
    """An ``--out`` whose ``images/train2017`` is the download's
    ``train2017`` (here through a symlinked folder): the images were
    replaced by links to themselves."""
    coco = tmp_path / 'coco'
    maps = coco / 'stuffthingmaps_trainval2017' / 'train2017'
    maps.mkdir(parents=True)
    (coco / 'train2017').mkdir()
    Image.fromarray(np.full((4, 6, 3), 128,
                            np.uint8)).save(coco / 'train2017' / '1.jpg')
    Image.fromarray(np.zeros((4, 6), np.uint8)).save(maps / '1.png')
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'curated_train2017.txt').write_text('1\n')
    out = tmp_path / 'out'
    (out / 'images').mkdir(parents=True)
    os.symlink(coco / 'train2017', out / 'images' / 'train2017')
    image = str(coco / 'train2017' / '1.jpg')
    before = _sha(image)
    tool = _module(COCOSTUFF)
    with pytest.raises(SystemExit) as exc:
        tool.main([
            str(coco), '--out',
            str(out), '--lists',
            str(lists), '--splits', 'train2017', '--skip-md5'
        ])
    assert f'--out {out}/images/train2017 is the input folder ' \
        f'{coco}/train2017' in str(exc.value), exc.value
    assert not osp.islink(image) and _sha(image) == before
    assert not (out / 'annotations').exists()
