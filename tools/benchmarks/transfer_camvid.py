# Copyright (c) densesiam_mm contributors. All rights reserved.
"""CamVid transfer at CPU scale: DenseSiam vs SimSiam pre-training vs scratch.

    nice -n 10 python tools/benchmarks/transfer_camvid.py \\
        [--seeds 0 1 2] [--work-dir work_dirs/transfer_camvid] \\
        [--pretrain-iters 80] [--pretrain-batch 8]

1. Pre-train a ResNet-18 on the CamVid train frames (labels unused) with
   ``configs/densesiam/densesiam_resnet18_1xb16-coslr-200i_camvid.py`` and
   its SimSiam twin ``configs/simsiam/simsiam_resnet18_1xb16-coslr-200i_
   camvid.py``: same data, views, batch, lr, cosine schedule and seed; the
   iteration count and batch are shortened by ``--pretrain-iters`` /
   ``--pretrain-batch`` to fit two CPU cores. Skipped when the checkpoint
   is already in the work dir.
2. Fine-tune ``configs/benchmarks/mmsegmentation/camvid/fcn_resnet18-d16_
   1xb4-40i_camvid-128x128.py`` from each initialisation (DenseSiam,
   SimSiam, random) with every seed: same budget, same seed set.
3. Print mIoU (and aAcc) mean ± std per initialisation with the per-seed
   values, and write ``results.md`` / ``results.json`` in the work dir.

Data root: ``$DENSESIAM_SHARED_DATA`` (default ``../shared/data``).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from densesiam_mm.apis.benchmark_runs import (CAMVID_FCN_CONFIG, finetune_from,
                                              run_command)
from densesiam_mm.apis.tool_io import check_distinct, format_mean_std

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
PRETRAIN_CONFIGS = {
    'DenseSiam':
    'configs/densesiam/densesiam_resnet18_1xb16-coslr-200i_camvid.py',  # noqa: E501
    'SimSiam': 'configs/simsiam/simsiam_resnet18_1xb16-coslr-200i_camvid.py',
}


def run(cmd, log_file, append=False):
    """``cmd`` in the repo root, output to ``log_file``; its wall and CPU
    seconds (:func:`~densesiam_mm.apis.benchmark_runs.run_command`)."""
    return run_command(cmd, log_file, cwd=REPO_ROOT, append=append)


def pretrain(name, work_dir, iters, batch):
    """Pre-training checkpoint of ``name`` (trained unless present)."""
    out_dir = osp.join(work_dir, 'pretrain', name.lower())
    ckpt = osp.join(out_dir, f'iter_{iters}.pth')
    if osp.isfile(ckpt):
        print(f'{name}: reusing {ckpt}', flush=True)
        return ckpt
    cmd = [
        sys.executable, TRAIN, PRETRAIN_CONFIGS[name], '--work-dir', out_dir,
        '--cfg-options', f'train_cfg.max_iters={iters}',
        f'param_scheduler.0.T_max={iters}', f'param_scheduler.0.end={iters}',
        f'train_dataloader.batch_size={batch}',
        f'default_hooks.checkpoint.interval={iters}', 'randomness.seed=0'
    ]
    seconds, _ = run(cmd, out_dir + '.log')
    print(
        f'{name}: pre-trained {iters} iterations in {seconds:.0f} s',
        flush=True)
    return ckpt


def finetune(init, ckpt, seed, work_dir):
    """The FCN fine-tune of ``init`` (``ckpt``; None: scratch) with ``seed``:
    its last val ``{'mIoU', 'aAcc'}`` and wall seconds."""
    run_dir = osp.join(work_dir, 'finetune', init.lower(), f'seed{seed}')
    return finetune_from(CAMVID_FCN_CONFIG, ckpt, seed, run_dir, REPO_ROOT)


def table(results, seeds):
    lines = [
        '| initialisation | mIoU (mean ± std) | aAcc (mean ± std) | '
        'mIoU per seed (' + ', '.join(map(str, seeds)) + ') |',
        '| --- | --- | --- | --- |'
    ]
    for init, runs in results.items():
        miou = format_mean_std([r['mIoU'] for r in runs])
        aacc = format_mean_std([r['aAcc'] for r in runs])
        per_seed = ', '.join(f'{r["mIoU"]:.2f}' for r in runs)
        lines.append(f'| {init} | {miou} | {aacc} | {per_seed} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--work-dir', default=osp.join('work_dirs', 'transfer_camvid'))
    parser.add_argument('--pretrain-iters', type=int, default=80)
    parser.add_argument('--pretrain-batch', type=int, default=8)
    args = parser.parse_args(argv)
    check_distinct(parser, args.seeds, '--seeds')
    return args


def main(argv=None):
    args = parse_args(argv)
    if len(args.seeds) < 3:
        print(
            'warning: fewer than 3 seeds; std is not meaningful',
            file=sys.stderr)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    inits = {
        name: pretrain(name, work_dir, args.pretrain_iters,
                       args.pretrain_batch)
        for name in PRETRAIN_CONFIGS
    }
    inits['scratch'] = None
    results = {}
    for seed in args.seeds:  # seed-major: a partial run stays comparable
        for init, ckpt in inits.items():
            metrics, seconds = finetune(init, ckpt, seed, work_dir)
            results.setdefault(init, []).append(metrics)
            print(
                f'{init:9s} seed {seed}: mIoU {metrics["mIoU"]:.2f} '
                f'aAcc {metrics["aAcc"]:.2f} ({seconds:.0f} s)',
                flush=True)
    text = table(results, args.seeds)
    minutes = (time.time() - start) / 60
    print(text)
    print(f'total {minutes:.1f} min')
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                seeds=args.seeds,
                results=results,
                pretrain_iters=args.pretrain_iters,
                pretrain_batch=args.pretrain_batch),
            f,
            indent=2)
    return results


if __name__ == '__main__':
    main()
