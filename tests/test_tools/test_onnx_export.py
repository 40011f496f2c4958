# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py: the unsupervised segmentor (encoder +
FPN + projector + arg-max) exported to ONNX gives onnxruntime the same
cluster ids as PyTorch on real frames, at sizes other than the traced one,
and a batch of two."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch

from ..conftest import (DEMO_DATA, REPO_ROOT, SHARED_DATA, config_path,
                        load_script)

TOOL = osp.join(REPO_ROOT, 'tools', 'deployment', 'pytorch2onnx.py')
CONFIG = config_path('unsup_seg',
                     'densesiam-seg_resnet18-fpn_1xb8-300i_image-folder.py')

pytest.importorskip(
    'onnx', reason='onnx is installed by '
    'requirements/tests.txt')
pytest.importorskip(
    'onnxruntime',
    reason='onnxruntime is installed by '
    'requirements/tests.txt')


def _frames():
    """The demo photos and, when the shared data is there, 4 CamVid val
    frames."""
    frames = sorted(glob.glob(osp.join(DEMO_DATA, '*.jpg')))
    camvid = sorted(
        glob.glob(osp.join(SHARED_DATA, 'camvid', 'images', 'val',
                           '*.jpg')))[:4]
    return frames + camvid


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """A randomly initialised DenseSiam-Seg (BN statistics moved off their
    initial values so the logits are not degenerate), its checkpoint and
    its ONNX file."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    import densesiam_mm  # noqa: F401
    tool = load_script(TOOL)
    folder = tmp_path_factory.mktemp('onnx')
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):  # no global leak
        model = MODELS.build(cfg.model)
        model.init_weights()
    model.train()
    with torch.no_grad():  # a few BN updates on random images
        for _ in range(2):
            model.extract_feat(torch.randn(2, 3, 64, 64))
    ckpt = str(folder / 'seg.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    # mmseg.apis.init_model sets mmengine's default scope process-wide: put
    # the scopes back after this module (conftest does it per test only)
    scopes = dict(DefaultScope._instance_dict)
    module = tool.build_exportable(CONFIG, ckpt)
    onnx_file = str(folder / 'seg.onnx')
    tool.export(module, onnx_file, shape=(64, 96))
    yield tool, module, onnx_file
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(scopes)


def test_onnx_labels_equal_pytorch_on_real_frames(exported):
    tool, module, onnx_file = exported
    frames = _frames()
    assert len(frames) >= 9
    # the config's inference size (short side 96): sizes differ from the
    # traced 64x96, so the dynamic axes are exercised
    rows = tool.compare(module, onnx_file, frames, short_side=96)
    sizes = {shape for _, shape, _ in rows}
    assert len(sizes) >= 3, sizes
    pixels = sum(h * w for _, (h, w), _ in rows)
    agree = sum(h * w * f for _, (h, w), f in rows) / pixels
    assert agree >= 0.999, rows
    # labels really vary (a constant map would agree trivially)
    rgb = tool.load_rgb(frames[0], 96)
    with torch.no_grad():
        labels = module(torch.from_numpy(rgb).permute(2, 0, 1)[None].float())
    assert labels.dtype == torch.int64
    assert labels.shape == (1, *rgb.shape[:2])
    assert len(torch.unique(labels)) >= 2


def test_onnx_matches_the_model_inference(exported):
    """The exported graph is the model's own inference: normalise (RGB),
    encode_decode, arg-max."""
    tool, module, onnx_file = exported
    import onnxruntime as ort
    rgb = tool.load_rgb(osp.join(DEMO_DATA, 'chelsea.jpg'), 96)
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    model = module.model
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model.encode_decode((image - mean) / std).argmax(1)
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    batch = np.concatenate([image.numpy(), image.numpy()[:, :, :, ::-1]])
    got = session.run(['labels'], {'image': np.ascontiguousarray(batch)})[0]
    assert got.shape == (2, *rgb.shape[:2])
    assert (got[0] == expected[0].numpy()).mean() >= 0.999
