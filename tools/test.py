# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Evaluate a checkpoint with an mmengine Runner (``test_dataloader``).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show-dir DIR] [--cfg-options key=value ...] [--launcher ...]

The checkpoint must hold every tensor of the model: a checkpoint of another
model (e.g. a pre-training one on a segmentation config) is an error that
lists the missing tensors, never a metric of random heads.
"""
import argparse
import os
import os.path as osp
import warnings

# setuptools warns about mmengine's `import pkg_resources` on every run
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import Config, DictAction  # noqa: E402

import densesiam_mm  # noqa: F401,E402
from densesiam_mm.apis import build_runner  # noqa: E402
from densesiam_mm.apis import registry_hints  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test a densesiam_mm model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--out', help='dump the metrics to this json file')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions here (needs a visualization hook)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
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


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        hooks = cfg.setdefault('default_hooks', {})
        vis = hooks.get('visualization')
        if vis is None:
            raise ValueError('--show-dir needs a `visualization` hook in '
                             'default_hooks of the config.')
        vis['draw'] = True
        vis['show_dir'] = args.show_dir
    # Unknown `type` names fail with the closest registered names.
    with registry_hints():
        runner = build_runner(cfg, 'test_dataloader')
        metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
