# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Train (pre-train or unsupervised segmentation) with an mmengine Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--channels-last] [--data-root DIR] [--vis-backends tensorboard wandb]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]

``--amp`` trains under mixed precision: mmengine's ``AmpOptimWrapper``
(fp16, dynamic loss scale) on CUDA, our ``CPUAmpOptimWrapper`` (bf16
autocast, no loss scale) on a machine without CUDA whose CPU computes bf16
natively (AVX512-BF16 or AMX). On a CPU without them bf16 is emulated and
slower than fp32, so ``--amp`` keeps fp32 there and logs why.

The run holds the work dir's lock (``<work_dir>/.densesiam.lock``) from
before the Runner is built to the end: a second training (or dense probe)
in the same work dir is refused at once, before it writes anything there.
"""
import argparse
import contextlib
import os
import os.path as osp
import re
import sys
import warnings

# setuptools warns about mmengine's `import pkg_resources` on every run
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

import densesiam_mm  # noqa: F401,E402  (registers modules, checkpoint loading)
from densesiam_mm.apis import build_runner  # noqa: E402
from densesiam_mm.apis import mixed_precision  # noqa: E402
from densesiam_mm.apis import registry_hints  # noqa: E402
from densesiam_mm.apis import WorkDirBusyError, lock_work_dir  # noqa: E402

#: ``--vis-backends`` names: mmengine's visualisation backends
VIS_BACKENDS = dict(
    tensorboard='TensorboardVisBackend', wandb='WandbVisBackend')


def parse_args():
    parser = argparse.ArgumentParser(description='Train a densesiam_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or (no value) from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed-precision training: AmpOptimWrapper (fp16, dynamic '
        'loss scale) on CUDA; CPUAmpOptimWrapper (bf16 autocast) without '
        'CUDA')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='train in the channels-last memory format (ChannelsLastHook); '
        'fastest with --amp')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by actual / base batch size (base: '
        'auto_scale_lr.base_batch_size of the config, else the total batch '
        'N x B of its name "..._{N}xb{B}-...", else its batch_size)')
    parser.add_argument(
        '--data-root',
        help='folder of the training images: sets '
        'train_dataloader.dataset.data_root (spaces allowed)')
    parser.add_argument(
        '--vis-backends',
        nargs='+',
        default=[],
        choices=sorted(VIS_BACKENDS),
        help='also log the scalars to TensorBoard (requirements/tests.txt) '
        'and/or Weights & Biases (pip install wandb)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10 '
        'model.grid_size=5 (no spaces inside a value)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def base_batch_size(cfg, config_path: str):
    """The batch size the config's learning rate is meant for.

    ``auto_scale_lr.base_batch_size`` when the config has it; otherwise the
    total batch its OpenMMLab name states (``..._16xb32-...`` -> 512,
    ``..._1xb8-...`` -> 8); otherwise ``train_dataloader.batch_size`` (one
    process assumed). Returns ``(size, where it came from)``.
    """
    given = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if given:
        return given, 'auto_scale_lr.base_batch_size'
    match = re.search(r'_(\d+)xb(\d+)[-_]', osp.basename(config_path))
    if match:
        return (int(match.group(1)) * int(match.group(2)),
                f'{match.group(1)}x{match.group(2)} in the config name')
    batch = cfg.get('train_dataloader', {}).get('batch_size')
    if not batch:
        raise ValueError(
            '--auto-scale-lr: the config has no auto_scale_lr.base_batch_size '
            'and no train_dataloader.batch_size; set '
            'auto_scale_lr=dict(base_batch_size=...)')
    return batch, 'train_dataloader.batch_size on 1 process'


def merge_args(cfg, args):
    """Merge command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        mixed_precision.use_amp(cfg)
    if args.channels_last:
        mixed_precision.use_channels_last(cfg)
    if getattr(args, 'data_root', None) is not None:
        if not osp.isdir(args.data_root):
            raise FileNotFoundError(f'--data-root {args.data_root}: no such '
                                    'folder')
        cfg.train_dataloader.dataset.data_root = args.data_root
    backends = [
        dict(type=VIS_BACKENDS[name])
        for name in getattr(args, 'vis_backends', None) or []
    ]
    if backends:  # added to the config's (LocalVisBackend's scalars.json)
        visualizer = cfg.get('visualizer') or {}
        cfg.visualizer = dict(
            visualizer,
            vis_backends=list(visualizer.get('vis_backends') or []) + backends)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.auto_scale_lr:
        # `cfg.setdefault('auto_scale_lr', {})['enable'] = True` writes into
        # a throw-away dict when the config has no `auto_scale_lr`.
        size, source = base_batch_size(cfg, args.config)
        cfg.auto_scale_lr = dict(
            cfg.get('auto_scale_lr') or {}, enable=True, base_batch_size=size)
        print_log(
            f'--auto-scale-lr: base batch size {size} ({source})',
            logger='current')
    return cfg


#: where each launcher puts the global rank before ``init_dist`` runs
RANK_VARIABLES = dict(
    pytorch='RANK', slurm='SLURM_PROCID', mpi='OMPI_COMM_WORLD_RANK')


def launch_rank(launcher: str) -> int:
    """This process's global rank, known from the launcher's environment
    before the process group exists (0 without a launcher)."""
    name = RANK_VARIABLES.get(launcher)
    value = os.environ.get(name, '') if name else ''
    if not value and launcher == 'pytorch':
        value = os.environ.get('LOCAL_RANK', '')
    return int(value) if value.strip().isdigit() else 0


def work_dir_owned(cfg):
    """The work dir's lock for the whole run (build and train), taken
    before the Runner creates anything in it (log folder, config dump,
    checkpoints): a second training in the same work dir is refused at
    once instead of overwriting this one's files. All ranks of one
    distributed run share the work dir, so rank 0 alone holds it."""
    if launch_rank(cfg.launcher) != 0:
        return contextlib.nullcontext()
    return lock_work_dir(cfg.work_dir, 'training')


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    with contextlib.ExitStack() as run:
        try:
            run.enter_context(work_dir_owned(cfg))
        except WorkDirBusyError as err:
            sys.exit(f'error: {err}')
        # Unknown `type` names fail with the closest registered names.
        with registry_hints():
            runner = build_runner(cfg, 'train_dataloader')
            runner.train()
        last = osp.join(cfg.work_dir, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                runner.logger.info(
                    f'Training done. Latest checkpoint: {f.read().strip()} '
                    '(next steps: README.md, docs/own_data.md)')


if __name__ == '__main__':
    main()
