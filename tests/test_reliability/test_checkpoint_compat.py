# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A checkpoint of the current code loads in a fresh process that has
neither the training config nor the data: the model is rebuilt from the
config text mmengine stores in ``meta['cfg']``, weights loaded with
``weights_only=True`` (``DENSESIAM_WEIGHTS_ONLY=strict`` forbids any
``weights_only=False`` load)."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ..conftest import REPO_ROOT
from ._utils import make_images, write_tiny_config

FRESH_PROCESS = r'''
import sys
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS
from densesiam_mm.checkpoint import load_checkpoint_file

path, out = sys.argv[1:]
ckpt = load_checkpoint_file(path, map_location='cpu')
cfg = Config.fromstring(ckpt['meta']['cfg'], file_format='.py')
init_default_scope(cfg.get('default_scope', 'mmpretrain'))
model = MODELS.build(cfg.model)
missing, unexpected = model.load_state_dict(ckpt['state_dict'], strict=True)
# mmengine's own, unmodified loader as well (the import added the types of
# mmengine's checkpoints to torch's weights_only allow-list)
model2 = MODELS.build(cfg.model)
load_checkpoint(model2, path, map_location='cpu', strict=True)
x = torch.linspace(-1, 1, 2 * 3 * 64 * 64).view(2, 3, 64, 64)
with torch.no_grad():
    feats = [m.eval().extract_feat(x)[-1].numpy() for m in (model, model2)]
np.save(out, np.stack(feats))
print(ckpt['meta']['iter'], cfg.model.type)
'''


def test_checkpoint_loads_in_fresh_process_without_config(tmp_path):
    data = make_images(tmp_path / 'images', num=4)
    config = write_tiny_config(
        tmp_path / 'tiny.py', data, max_iters=2, interval=2)
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = osp.join(cfg.work_dir, 'iter_2.pth')
    x = torch.linspace(-1, 1, 2 * 3 * 64 * 64).view(2, 3, 64, 64)
    with torch.no_grad():
        expected = runner.model.eval().extract_feat(x)[-1].numpy()

    # the training config and data are gone
    os.remove(config)
    os.remove(osp.join(cfg.work_dir, 'tiny.py'))
    for name in os.listdir(data):
        os.remove(osp.join(data, name))
    out = str(tmp_path / 'feats.npy')
    proc = subprocess.run([sys.executable, '-c', FRESH_PROCESS, ckpt, out],
                          cwd=str(tmp_path),
                          env=dict(
                              os.environ,
                              DENSESIAM_WEIGHTS_ONLY='strict',
                              PYTHONPATH=REPO_ROOT),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.split()[-2:] == ['2', 'DenseSiam']
    assert 'weights_only=False' not in proc.stdout + proc.stderr
    feats = np.load(out)
    assert np.array_equal(feats[0], expected)
    assert np.array_equal(feats[1], expected)
