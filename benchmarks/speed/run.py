# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam vs SimSiam cost, side by side in one process.

    .venv/bin/python benchmarks/speed/run.py \
        --out docs/benchmarks/cpu_$(date -u +%F).md

Measures, interleaved after a warm-up (medians of several runs):

1. train step time (forward + backward + SGD step), peak memory, counted
   FLOPs and parameters of SimSiam (mmpretrain), DenseSiam with RegionSim off
   (+ PixSim) and DenseSiam with RegionSim on (+ PixSim + RegionSim), all
   built from ``configs/_base_/models/densesiam_{backbone}.py`` on synthetic
   views with overlapping crop boxes;
2. data pipeline images/s (one worker) of the two-view pipeline with
   geometry vs mmpretrain's SimSiam pipeline, on the same real images;
3. one unsupervised-segmentation epoch, DenseSiam-Seg vs PiCIE (k-means
   clustering included), on the same CamVid frames.

CPU defaults: ResNet-18 and ResNet-50 at 224, batch 8, one intra-op thread
(on a shared CPU, several threads time OpenMP barrier stalls of the many
small ops rather than the model; ``--threads N`` on a machine of your own).
CUDA defaults
(``--device cuda``): ResNet-50 at 224, batch 64, bf16 autocast and
channels_last; also reports image pairs/s and the fraction of the GPU's
dense bf16 peak. The table is printed and, with ``--out``, written to a file.

``--suite cpu-amp``: instead, DenseSiam R18 train steps at 128 px, batch 16,
fp32 vs bf16 autocast vs bf16 + channels_last on the CPU (``cpu_amp.py``).
"""
import argparse
import os
import os.path as osp
import sys
import time
import warnings

if __package__ in (None, ''):  # run as a script: make `benchmarks` importable
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from benchmarks.speed import measure, report  # noqa: E402
from benchmarks.speed.models import VARIANT_NAMES  # noqa: E402
from benchmarks.speed.models import (REPO_ROOT, VARIANTS, build_variant,
                                     synthetic_batch, train_step)

# Dense bf16 tensor-core peak (no sparsity), FLOP/s, from NVIDIA's sheets.
BF16_PEAK = (('H100 PCIe', 756e12), ('H100', 989e12), ('H200', 989e12),
             ('A100', 312e12))
SHARED = os.environ.get('DENSESIAM_SHARED_DATA',
                        osp.join(REPO_ROOT, '..', 'shared', 'data'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='markdown file to write')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--backbones', nargs='+', choices=['resnet18', 'resnet50'])
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--warmup', type=int)
    parser.add_argument(
        '--repeats',
        type=int,
        help='timed steps per variant (default: 7 on CPU '
        'for ResNet-18, 4 for ResNet-50; 20 on CUDA)')
    parser.add_argument(
        '--amp',
        choices=['bf16', 'fp16', 'off'],
        help='autocast dtype (default bf16 on CUDA, off on '
        'CPU)')
    parser.add_argument(
        '--channels-last',
        action=argparse.BooleanOptionalAction,
        help='default: on for CUDA, off for CPU')
    parser.add_argument(
        '--pipeline-dir',
        default=osp.join(SHARED, 'camvid', 'images', 'train'))
    parser.add_argument('--pipeline-images', type=int, default=48)
    parser.add_argument('--pipeline-rounds', type=int, default=5)
    parser.add_argument('--seg-images', type=int, default=96)
    parser.add_argument('--seg-rounds', type=int, default=3)
    parser.add_argument(
        '--seg-view-size',
        type=int,
        help='view size of the segmentation epochs (default: the CamVid '
        "configs' 96 px; 320 = the COCO-Stuff recipe's)")
    parser.add_argument(
        '--seg-workers',
        type=int,
        help='dataloader workers of the segmentation epochs (default: the '
        "configs' 0)")
    parser.add_argument(
        '--suite',
        choices=['default', 'cpu-amp'],
        default='default',
        help='cpu-amp: DenseSiam R18 at 128 px, batch 16, fp32 vs bf16 '
        'autocast vs bf16 + channels_last on the CPU (see cpu_amp.py)')
    parser.add_argument(
        '--skip', nargs='*', default=[], choices=['steps', 'pipeline', 'seg'])
    parser.add_argument(
        '--profile',
        action='store_true',
        help='add the top operators of one step per variant')
    parser.add_argument(
        '--threads',
        type=int,
        help='intra-op threads (default on CPU: 1, see docs/benchmarks.md; '
        "on CUDA: torch's default)")
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny sizes, to check that the harness runs')
    args = parser.parse_args(argv)
    cuda = torch.device(args.device).type == 'cuda'
    if args.quick:
        args.backbones = args.backbones or ['resnet18']
        args.batch_size = args.batch_size or 2
        args.size, args.warmup = 64, 1
        args.repeats = args.repeats or 2
        args.pipeline_images, args.pipeline_rounds = 4, 1
        args.seg_images, args.seg_rounds = 8, 1
    args.backbones = args.backbones or (['resnet50']
                                        if cuda else ['resnet18', 'resnet50'])
    args.batch_size = args.batch_size or (64 if cuda else 8)
    args.warmup = args.warmup if args.warmup is not None else (
        5 if cuda else 1)
    args.amp = args.amp or ('bf16' if cuda else 'off')
    if args.channels_last is None:
        args.channels_last = cuda
    return args


def _amp_dtype(name):
    return dict(bf16=torch.bfloat16, fp16=torch.float16).get(name)


def _fmt_mib(num_bytes):
    return f'{num_bytes / 2**20:.0f}'


def bench_steps(args, backbone, lines, log):
    """Time, memory, FLOPs and parameters of the three variants."""
    device, amp = args.device, _amp_dtype(args.amp)
    repeats = args.repeats or (20 if device != 'cpu' else
                               (7 if backbone == 'resnet18' else 4))
    inputs, samples = synthetic_batch(args.batch_size, args.size, device,
                                      args.channels_last)
    models = {
        v: build_variant(v, backbone, device, args.channels_last)
        for v in VARIANTS
    }
    steps = {
        v: (lambda m=m, o=o: train_step(m, o, inputs, samples, amp))
        for v, (m, o) in models.items()
    }
    log(f'{backbone}: {args.warmup} warm-up + {repeats} interleaved steps '
        'per variant')
    times = measure.interleaved_timings(steps, args.warmup, repeats, device)
    log(f'{backbone}: peak memory')
    peaks = {
        v: measure.peak_memory_bytes(steps[v], m, o, inputs, device)
        for v, (m, o) in models.items()
    }
    log(f'{backbone}: FLOPs (counted at batch 2)')
    small_inputs, small_samples = synthetic_batch(2, args.size, device,
                                                  args.channels_last)
    flops = {
        v:
        measure.count_flops(lambda m=m, o=o: train_step(
            m, o, small_inputs, small_samples, amp)) / 2
        for v, (m, o) in models.items()
    }
    params = {v: measure.count_parameters(m) for v, (m, _) in models.items()}
    profiles = {}
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        for v in VARIANTS:
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                steps[v]()
            profiles[v] = prof.key_averages().table(
                sort_by='self_cpu_time_total', row_limit=12)

    wall = {v: measure.median(times[v]['wall']) for v in VARIANTS}
    cpu = {v: measure.median(times[v]['cpu']) for v in VARIANTS}
    base = 'simsiam'
    setting = (f'{backbone}, {args.size}px, batch {args.batch_size}, '
               f'{device}' + (f', {args.amp}' if amp else '') +
               (', channels_last' if args.channels_last else ''))
    rows = []

    def add(name, values, fmt, target):
        rows.append([
            name,
            fmt(values[base]),
            fmt(values['densesiam_pixsim']),
            report.ratio(values['densesiam_pixsim'], values[base]),
            fmt(values['densesiam_full']),
            report.ratio(values['densesiam_full'], values[base]), target
        ])

    add('train step, wall s (median)', wall, '{:.3f}'.format, '<= 1.05')
    if device == 'cpu':
        add('train step, process CPU s (median)', cpu, '{:.3f}'.format, '')
    add('peak memory, MiB', peaks, _fmt_mib, '<= 1.05 (CPU), <= 1.02 (GPU)')
    add('GFLOP per image pair (counted)', {
        k: v / 1e9
        for k, v in flops.items()
    }, '{:.2f}'.format, '')
    add('parameters, M', {
        k: v / 1e6
        for k, v in params.items()
    }, '{:.2f}'.format, '')
    avg = 0.5 * (wall['densesiam_pixsim'] + wall['densesiam_full'])
    cp = 'densesiam_full_cp'
    lines += [
        f'### Train step: {setting}', '',
        report.table([
            'measurement', 'SimSiam', 'DenseSiam, RegionSim off', 'ratio',
            'DenseSiam, RegionSim on', 'ratio', 'target'
        ], rows), '', f'Whole pre-training (RegionSim on for the second half, '
        f'`RegionSimHook(start_ratio=0.5)`): step time ratio '
        f'**{avg / wall[base]:.3f}**.', '',
        f'RegionSim on with activation checkpointing '
        f'(`region_sim_head.with_cp=True`): step time ratio '
        f'{report.ratio(wall[cp], wall[base])}, peak memory ratio '
        f'{report.ratio(peaks[cp], peaks[base])}.', ''
    ]
    branch_rows = []
    for i, v in enumerate(VARIANTS):
        runs = times[v]['wall']
        p = VARIANTS[max(i - 1, 0)]
        added = [
            f'{wall[v] - wall[p]:+.3f}', f'{(flops[v] - flops[p]) / 1e9:+.2f}',
            f'{(peaks[v] - peaks[p]) / 2**20:+.0f}',
            f'{(params[v] - params[p]) / 1e6:+.3f}'
        ] if i else [''] * 4
        branch_rows.append([
            VARIANT_NAMES[v],
            f'{wall[v]:.3f} ({min(runs):.3f}-{max(runs):.3f})', added[0],
            f'{flops[v] / 1e9:.2f}', added[1],
            _fmt_mib(peaks[v]), added[2], f'{params[v] / 1e6:.3f}', added[3]
        ])
    lines += [
        f'Per branch ({backbone}): each row adds one branch to the row '
        'above.', '',
        report.table([
            'variant', 'step s, median (min-max)', 'added s', 'GFLOP/pair',
            'added', 'peak MiB', 'added', 'params M', 'added'
        ], branch_rows), ''
    ]
    if device != 'cpu':
        pairs = {v: args.batch_size / wall[v] for v in VARIANTS}
        name = torch.cuda.get_device_name(torch.device(device))
        peak = next((p for key, p in BF16_PEAK if key in name), None)
        gpu_rows = []
        for v in VARIANTS:
            achieved = flops[v] * args.batch_size / wall[v]
            frac = f'{achieved / peak:.1%}' if peak else 'unknown peak'
            gpu_rows.append([
                VARIANT_NAMES[v], f'{pairs[v]:.0f}', f'{achieved / 1e12:.1f}',
                frac
            ])
        lines += [
            f'GPU throughput ({name}, synthetic tensors, target >= 1500 '
            'pairs/s for DenseSiam):', '',
            report.table(
                ['variant', 'image pairs/s', 'TFLOP/s', 'of bf16 peak'],
                gpu_rows), ''
        ]
    for v, text in profiles.items():
        lines += [
            f'Top operators, one step, {VARIANT_NAMES[v]} '
            f'({backbone}):', '', '```', text, '```', ''
        ]


def bench_pipeline(args, lines, log):
    from benchmarks.speed.pipeline import pipeline_throughput
    log('data pipelines')
    result = pipeline_throughput(args.pipeline_dir, args.pipeline_images,
                                 args.pipeline_rounds)
    simsiam = result['simsiam']['images_per_s']
    densesiam = result['densesiam']['images_per_s']
    runs = lambda k: ', '.join(f'{r:.1f}' for r in result[k]['runs'])  # noqa
    lines += [
        f'### Data pipeline: 224 px two views, one worker, '
        f'{args.pipeline_images} CamVid train frames x '
        f'{args.pipeline_rounds} rounds', '',
        report.table(
            ['pipeline', 'images/s (median)', 'rounds', 'ratio', 'target'], [
                [
                    'SimSiam (mmpretrain MultiView)', f'{simsiam:.1f}',
                    runs('simsiam'), '1', ''
                ],
                [
                    'DenseSiam (MultiViewWithGeometry)', f'{densesiam:.1f}',
                    runs('densesiam'),
                    report.ratio(densesiam, simsiam), '>= 0.95'
                ],
            ]), ''
    ]


def bench_seg(args, lines, log):
    from benchmarks.speed.seg_epoch import seg_epoch_times
    log('segmentation epochs')
    title = (
        f'### Unsupervised segmentation: one epoch of '
        f'{args.seg_images} CamVid train frames (CamVid configs' +
        (f', {args.seg_view_size} px views' if args.seg_view_size else '') +
        f', {args.device})')
    try:
        result = seg_epoch_times(args.seg_images, args.seg_rounds,
                                 args.seg_view_size, args.seg_workers)
    except (FileNotFoundError, KeyError, ImportError) as err:
        lines += [title, '', f'Pending: {type(err).__name__}: {err}', '']
        return
    ds, picie = result['densesiam_seg'], result['picie']
    runs = lambda r: ', '.join(f'{s:.1f}' for s in r['runs'])  # noqa
    # PiCIE as published: before every epoch, k-means on view 1 and on
    # view 2, then label assignment for each view: four single-view passes
    # instead of this package's one two-view clustering pass.
    picie_train = picie['seconds'] - picie['clustering']
    published = picie_train + 4 * picie['view_pass']
    lines += [
        title, '',
        report.table([
            'method', 'epoch s (median)', 'runs', 'of which clustering s',
            'ratio', 'target'
        ], [
            [
                'PiCIE, this package (one clustering pass, sampled pixels, '
                'online labels)', f'{picie["seconds"]:.1f}',
                runs(picie), f'{picie["clustering"]:.1f}', '1', ''
            ],
            [
                'DenseSiam-Seg', f'{ds["seconds"]:.1f}',
                runs(ds), '0',
                report.ratio(ds['seconds'], picie['seconds']), '<= 0.35'
            ],
            [
                'PiCIE, published per-epoch protocol (composed, lower '
                'bound: training + 4 single-view passes of '
                f'{picie["view_pass"]:.1f} s)', f'{published:.1f}', '',
                f'{published - picie_train:.1f}', '1', ''
            ],
            [
                'DenseSiam-Seg vs that', f'{ds["seconds"]:.1f}', '', '0',
                report.ratio(ds['seconds'], published), '<= 0.35'
            ],
        ]), '',
        'The composed row adds to PiCIE\'s measured training part four '
        'measured single-view feature passes over the same frames (PiCIE\'s '
        'code runs k-means on view 1 and view 2, then assigns and writes '
        'the labels of each view, every epoch); it leaves out the k-means '
        'arithmetic on all pixels and the label files, so it is a lower '
        'bound on that protocol\'s epoch.', ''
    ]


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings('ignore')
    if args.threads is None and torch.device(args.device).type == 'cpu':
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()

    def log(message):
        print(
            f'[{time.perf_counter() - start:6.0f} s] {message}',
            file=sys.stderr,
            flush=True)

    load_start = report.load_average()
    body = []
    if args.suite == 'cpu-amp':
        from benchmarks.speed.cpu_amp import cpu_amp_table
        body += cpu_amp_table(
            size=64 if args.quick else 128,
            batch_size=2 if args.quick else 16,
            repeats=args.repeats or (1 if args.quick else 5),
            log=log)
        args.skip = ['steps', 'pipeline', 'seg']
    if 'steps' not in args.skip:
        for backbone in args.backbones:
            bench_steps(args, backbone, body, log)
    if 'pipeline' not in args.skip:
        bench_pipeline(args, body, log)
    if 'seg' not in args.skip:
        bench_seg(args, body, log)
    elapsed = time.perf_counter() - start
    command = 'python benchmarks/speed/run.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    lines = [
        '# bf16 training on the CPU'
        if args.suite == 'cpu-amp' else '# DenseSiam vs SimSiam cost', '',
        *report.machine_lines(args.device, REPO_ROOT),
        f'- load average (1/5/15 min) at start: {load_start}; at end: '
        f'{report.load_average()} (shared machine: other jobs ran)',
        f'- command: `{command.strip()}` ({elapsed / 60:.1f} min)', '', *body
    ]
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)
        log(f'written to {args.out}')
    return text


if __name__ == '__main__':
    main()
