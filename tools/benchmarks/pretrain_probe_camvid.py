# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam vs SimSiam on CamVid at a real CPU budget: pre-train, probe,
fine-tune, tabulate.

    OMP_NUM_THREADS=1 nice -n 10 \\
        python tools/benchmarks/pretrain_probe_camvid.py \\
        [--work-dir work_dirs/pretrain_probe_camvid] [--iters N] \\
        [--probe-seeds 0 1 2] [--finetune-seeds 0 1 2] \\
        [--phases pretrain probe finetune] [--methods ...] \\
        [--pretrain-seed S] \\
        [--table docs/dense_probe.md]

1. **Pre-train** a ResNet-18 on the 367 CamVid train frames (labels unused)
   with the three configs below: identical data, 128 px views, batch 16,
   cosine schedule and seed; only the loss differs. Each run is resumed
   from its last checkpoint when the script is started again; its wall time
   (summed over resumed segments) is recorded.
2. **Probe** each checkpoint and a random initialisation with
   ``tools/analysis/dense_probe.py --probe both`` (frozen backbone, features
   cached once; linear probe and k-means clustering probe, one run per probe
   seed).
3. **Fine-tune** the FCN of ``tools/benchmarks/transfer_camvid.py``
   (``configs/benchmarks/mmsegmentation/camvid/fcn_resnet18-d16_1xb4-40i_camvid-128x128.py``)
   from each initialisation with every fine-tune seed.
4. Write ``results.json`` / ``results.md`` in the work dir and the table into
   ``--table`` (mean ± sample std over seeds per row).

Every step whose result file exists is skipped, so an interrupted run
continues where it stopped. Data root: ``$DENSESIAM_SHARED_DATA`` (default
``../shared/data``).
"""
import argparse
import json
import os
import os.path as osp
import sys

from densesiam_mm.apis.benchmark_runs import (CAMVID_FCN_CONFIG, finetune_from,
                                              run_command)
from densesiam_mm.apis.tool_io import format_mean_std

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
PROBE = osp.join(REPO_ROOT, 'tools', 'analysis', 'dense_probe.py')
PRETRAIN_CONFIGS = {
    'DenseSiam':
    'configs/densesiam/'
    'densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py',
    'SimSiam':
    'configs/simsiam/'
    'simsiam_resnet18_1xb16-coslr-300i_camvid-128x128.py',
    'DenseSiam (λ2 = 0)':
    'configs/densesiam/'
    'densesiam-wo-regionsim_resnet18_1xb16-coslr-300i_camvid-128x128.py',
}
RANDOM_INIT = 'random init'


def slug(name: str) -> str:
    return {
        'DenseSiam': 'densesiam',
        'SimSiam': 'simsiam',
        'DenseSiam (λ2 = 0)': 'densesiam_wo_regionsim',
        RANDOM_INIT: 'random',
    }[name]


def run(cmd, log_file, append=False):
    """``cmd`` in the repo root, logged, its wall and CPU seconds."""
    return run_command(cmd, log_file, cwd=REPO_ROOT, append=append)


def pretrain(name, work_dir, iters, seed=None):
    """Checkpoint of ``name`` after ``iters`` iterations and its wall time.

    Resumes from the last checkpoint of an interrupted run; the wall time of
    every segment is added to ``wall_time.json`` in the run's directory.
    """
    out_dir = osp.join(work_dir, 'pretrain', slug(name))
    ckpt = osp.join(out_dir, f'iter_{iters}.pth')
    timing_file = osp.join(out_dir, 'wall_time.json')
    timing = dict(seconds=0., cpu_seconds=0., segments=0)
    if osp.isfile(timing_file):
        with open(timing_file) as f:
            timing.update(json.load(f))
    if osp.isfile(ckpt):
        print(
            f'{name}: reusing {ckpt} ({timing["seconds"] / 60:.1f} min)',
            flush=True)
        return ckpt, timing
    os.makedirs(out_dir, exist_ok=True)
    cmd = [
        sys.executable, TRAIN, PRETRAIN_CONFIGS[name], '--work-dir', out_dir
    ]
    if osp.isfile(osp.join(out_dir, 'last_checkpoint')):
        cmd.append('--resume')
    options = []
    if iters != config_iters(name):
        options += [
            f'train_cfg.max_iters={iters}', f'param_scheduler.0.T_max={iters}',
            f'param_scheduler.0.end={iters}'
        ]
    if seed is not None:  # another pre-training seed (default: the config's)
        options.append(f'randomness.seed={seed}')
    if options:
        cmd += ['--cfg-options', *options]
    print(
        f'{name}: pre-training {iters} iterations '
        f'({"resumed" if "--resume" in cmd else "new"})',
        flush=True)
    seconds, cpu_seconds = run(cmd, out_dir + '.log', append=True)
    timing['seconds'] += seconds
    timing['cpu_seconds'] += cpu_seconds
    timing['segments'] += 1
    with open(timing_file, 'w') as f:
        json.dump(timing, f)
    print(
        f'{name}: pre-trained in {timing["seconds"] / 60:.1f} min '
        f'({timing["cpu_seconds"] / 60:.1f} CPU min)',
        flush=True)
    return ckpt, timing


def config_iters(name):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, PRETRAIN_CONFIGS[name]))
    return cfg.train_cfg.max_iters


def probe(name, ckpt, seeds, work_dir):
    """Linear and clustering probe results of one initialisation."""
    out_dir = osp.join(work_dir, 'probe', slug(name))
    result_file = osp.join(out_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    cmd = [
        sys.executable, PROBE, ckpt or 'random', '--probe', 'both', '--seeds',
        *map(str, seeds), '--work-dir', out_dir, '--out', result_file
    ]
    seconds, _ = run(cmd, out_dir + '.log')
    with open(result_file) as f:
        result = json.load(f)
    print(
        f'{name}: probes in {seconds:.0f} s: linear mIoU '
        f'{result["linear"]["mIoU_mean"]:.2f}, k-means mIoU '
        f'{result["kmeans"]["mIoU_mean"]:.2f}',
        flush=True)
    return result


def table(rows, args, iters):
    lines = [
        f'| initialisation | pre-training ({iters} it): wall / CPU time '
        f'| linear probe mIoU '
        f'(seeds {", ".join(map(str, args.probe_seeds))}) | k-means '
        f'probe mIoU (k = 11) | k-means mIoU (k = 33, majority) | FCN '
        f'fine-tune mIoU (seeds {", ".join(map(str, args.finetune_seeds))})'
        ' |', '| --- | --- | --- | --- | --- | --- |'
    ]
    for name, row in rows.items():
        timing = row.get('pretrain_time')
        wall = (f'{timing["seconds"] / 60:.1f} / '
                f'{timing["cpu_seconds"] / 60:.1f} min' if timing else '-')
        cells = [name, wall]
        probes = row.get('probe')
        if probes:
            cells += [
                format_mean_std(probes['linear']['mIoU']),
                format_mean_std(probes['kmeans']['mIoU']),
                format_mean_std(probes['kmeans_over']['mIoU'])
            ]
        else:
            cells += ['-'] * 3
        finetune = row.get('finetune')
        cells.append(
            format_mean_std([r['mIoU']
                             for r in finetune]) if finetune else '-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_table(text, path):
    """Put ``text`` between the result markers of ``path`` (or write it)."""
    begin, end = '<!-- results:begin -->', '<!-- results:end -->'
    block = f'{begin}\n{text}\n{end}'
    if osp.isfile(path):
        with open(path) as f:
            content = f.read()
        if begin in content and end in content:
            head, rest = content.split(begin, 1)
            content = head + block + rest.split(end, 1)[1]
        else:
            content = content.rstrip('\n') + '\n\n' + block + '\n'
    else:
        content = block + '\n'
    with open(path, 'w') as f:
        f.write(content)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--work-dir', default=osp.join('work_dirs', 'pretrain_probe_camvid'))
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='pre-training iterations (default: the configs\' schedule)')
    parser.add_argument(
        '--probe-seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--finetune-seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--phases',
        nargs='+',
        choices=['pretrain', 'probe', 'finetune'],
        default=['pretrain', 'probe', 'finetune'])
    parser.add_argument(
        '--methods',
        nargs='+',
        choices=[slug(name) for name in PRETRAIN_CONFIGS] + ['random'],
        default=[slug(name) for name in PRETRAIN_CONFIGS] + ['random'],
        help='rows: pre-training methods and the random initialisation')
    parser.add_argument(
        '--pretrain-seed',
        type=int,
        default=None,
        help='pre-training seed (default: the configs\' seed, 0); use a '
        'separate --work-dir per seed')
    parser.add_argument(
        '--table',
        default=osp.join(REPO_ROOT, 'docs', 'dense_probe.md'),
        help='markdown file that receives the results table')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    iters = args.iters or config_iters('DenseSiam')
    # the main comparison first, the ablation last: an interrupted run
    # has the DenseSiam / SimSiam / random rows soonest
    order = ['DenseSiam', 'SimSiam', RANDOM_INIT, 'DenseSiam (λ2 = 0)']
    order = [n for n in order if slug(n) in args.methods]
    rows = {}
    for name in order:
        row = rows[name] = dict(checkpoint=None)
        if name != RANDOM_INIT:
            row['checkpoint'], row['pretrain_time'] = pretrain(
                name, work_dir, iters, args.pretrain_seed)
        if 'probe' in args.phases:
            row['probe'] = probe(name, row['checkpoint'], args.probe_seeds,
                                 work_dir)
    if args.phases == ['pretrain']:
        return rows
    if 'finetune' in args.phases:
        for seed in args.finetune_seeds:  # seed-major, as transfer_camvid
            for name, row in rows.items():
                run_dir = osp.join(work_dir, 'finetune', slug(name),
                                   f'seed{seed}')
                metrics, seconds = finetune_from(CAMVID_FCN_CONFIG,
                                                 row['checkpoint'], seed,
                                                 run_dir, REPO_ROOT)
                row.setdefault('finetune', []).append(metrics)
                print(
                    f'{name} FCN seed {seed}: mIoU {metrics["mIoU"]:.2f} '
                    f'({seconds:.0f} s)',
                    flush=True)
    text = table(rows, args, iters)
    print(text)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                iters=iters,
                probe_seeds=args.probe_seeds,
                finetune_seeds=args.finetune_seeds,
                rows=rows),
            f,
            indent=2)
    write_table(text, args.table)
    return rows


if __name__ == '__main__':
    main()
