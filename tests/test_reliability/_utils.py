# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Small data, configs and a subprocess runner for the reliability tests."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

from PIL import Image

from ..conftest import DEMO_DATA, REPO_ROOT, config_path

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
DEMO_CFG = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-60i_demo.py')


def make_images(folder, size=72, num=6):
    """``num`` square ``size`` px JPEGs cut from the demo photos."""
    os.makedirs(folder, exist_ok=True)
    names = sorted(f for f in os.listdir(DEMO_DATA) if f.endswith('.jpg'))
    for name in names[:num]:
        img = Image.open(osp.join(DEMO_DATA, name)).convert('RGB')
        side = min(img.size)
        img = img.crop((0, 0, side, side)).resize((size, size))
        img.save(osp.join(folder, name), quality=95)
    return str(folder)


# The demo config at 64 px, 4 images a batch, no workers, a check-point
# every `interval` iterations, all losses logged every iteration. `extra` is
# inserted before `train_dataloader` (it may redefine `train_pipeline`).
TINY_CONFIG = '''
_base_ = {base!r}
custom_imports = dict(
    imports=['densesiam_mm', 'tests.test_reliability.loss_recorder'],
    allow_failed_imports=False)
crop_size = 64
view_pipeline = [
    dict(type='RandomResizedCropWithBox', scale=crop_size,
         crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='MultiViewWithGeometry', num_views=2,
         transforms=[view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]
{extra}
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, pipeline=train_pipeline))
train_cfg = dict(max_iters={max_iters})
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_iters},
                        by_epoch=False, begin=0, end={max_iters})]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={interval}, max_keep_ckpts=10))
custom_hooks = [
    # adjust_by_epoch=False: an iteration-based loop has one "epoch", so the
    # default (fix the predictor lr before each epoch) would fix it only at
    # the start of the run -- and again at a resume, which would then differ.
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=0.05,
         adjust_by_epoch=False),
    dict(type='RegionSimHook', start_ratio={start_ratio}),
    dict(type='LossRecorderHook'),
]
'''


def write_tiny_config(path,
                      data_root,
                      batch_size=4,
                      max_iters=4,
                      interval=4,
                      start_ratio=0.5,
                      extra=''):
    with open(path, 'w') as f:
        f.write(
            TINY_CONFIG.format(
                base=DEMO_CFG,
                data_root=str(data_root) + '/',
                batch_size=batch_size,
                max_iters=max_iters,
                interval=interval,
                start_ratio=start_ratio,
                extra=extra))
    return str(path)


def env():
    return dict(
        os.environ,
        PYTHONPATH=REPO_ROOT,
        PYTHONHASHSEED='0',
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1')


def train_cmd(config, work_dir, *options, resume=False):
    cmd = [sys.executable, TRAIN, config, '--work-dir', str(work_dir)]
    if resume:
        cmd.append('--resume')
    if options:
        cmd += ['--cfg-options', *options]
    return cmd


def run(cmd, timeout=300, check=True):
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def recorded_losses(work_dir, rank=0):
    with open(osp.join(str(work_dir), f'losses_rank{rank}.jsonl')) as f:
        return [json.loads(line) for line in f if line.strip()]


def log_files(work_dir):
    return sorted(glob.glob(osp.join(str(work_dir), '*', '*.log')))


def tiny_cfg(config, work_dir, **options):
    """The Config of ``config`` for an in-process run in ``work_dir``
    (unique experiment name: loggers of runs in the same second differ)."""
    import uuid

    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    cfg.experiment_name = f'{osp.basename(str(work_dir))}_{uuid.uuid4().hex}'
    if options:
        cfg.merge_from_dict(options)
    return cfg


def train_in_process(cfg):
    """``tools/train.py``'s runner (build_runner) trained in this process;
    returns the runner."""
    from densesiam_mm.apis import build_runner
    runner = build_runner(cfg)
    runner.train()
    return runner


def read_logs(work_dir):
    return '\n'.join(open(path).read() for path in log_files(work_dir))


class kept_default_scope:
    """Restore mmengine's default scope on exit (for module-scoped fixtures,
    which the per-test ``restore_default_scope`` of conftest.py misses:
    Runners and ``mmseg.apis.init_model`` set a default scope)."""

    def __enter__(self):
        from mmengine.registry import DefaultScope
        self._saved = dict(DefaultScope._instance_dict)
        return self

    def __exit__(self, *exc):
        from mmengine.registry import DefaultScope
        DefaultScope._instance_dict.clear()
        DefaultScope._instance_dict.update(self._saved)
