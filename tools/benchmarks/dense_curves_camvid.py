# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam vs DenseSiam (λ2 = 0) vs SimSiam vs DenseCL on CamVid, as
curves of frozen dense-probe mIoU against pre-training iterations.

    OMP_NUM_THREADS=2 nice -n 5 \\
        python tools/benchmarks/dense_curves_camvid.py \\
        [--work-dir work_dirs/dense_curves_camvid] [--iters 1500] \\
        [--interval 150] [--seeds 0 1] [--methods ...] \\
        [--phases pretrain curve final report] [--no-amp] \\
        [--results-dir docs/benchmarks/dense_curves_camvid]

1. **Pre-train** a ResNet-18 with each method on the frames of the drives
   0001TP and 0016E5 (CamVid train and val, 367 frames; labels unused):
   identical data, two 128 px views, batch 16, SGD lr 0.05 with a cosine
   schedule over ``--iters`` iterations, seed; only the method differs.
   bf16 autocast and channels-last (``tools/train.py --amp
   --channels-last``) unless ``--no-amp``. A checkpoint every
   ``--interval`` iterations is kept for the curves. An interrupted run
   resumes from its last checkpoint when the script is started again.
2. **Curve**: every kept checkpoint, and the method's own random
   initialisation (iteration 0: a fresh model of its config, seeded), is
   probed by :class:`densesiam_mm.evaluation.DenseProbe`, the evaluator
   that ``DenseProbeHook`` runs during training, on two protocols:
   ``val`` (fit on the train frames of 0001TP and 0016E5, score the 101 val
   frames of 0016E5: a drive seen, unlabelled, in pre-training) and
   ``heldout`` (fit on all 367 pre-training frames, score the 101 frames of
   drive 0006R0, never seen in pre-training).
3. **Final**: ``tools/analysis/dense_probe.py`` on the last checkpoint of
   each run and on random initialisations with and without zero-init
   residual: linear probe, k-means k = 11 (Hungarian) and 33 (majority),
   3 probe seeds, on C5 and C3-C5 concatenated, both protocols.
4. **Report**: ``curves.png`` (mean and band over pre-training seeds) and
   ``results.md`` in ``--results-dir``, ``results.json`` (everything in
   one file) in the work dir; of every method and seed with results there,
   whatever ``--methods`` and ``--seeds`` say.

Runs go one at a time, run-major: each (seed, method) is pre-trained,
probed along its curve and probed in full before the next starts (seed 0 of
every method before any seed 1), after the seed's random rows.
Checkpoints and logs stay in ``--work-dir``; the small result files (curve
points, final probes, training times: JSON, a few kB each) go to
``--results-dir``, which is in the repository
(``docs/benchmarks/dense_curves_camvid``), so a later session or another
machine continues where this one stopped: a run whose results are all
there is skipped, checkpoints or not. Every step whose result file exists
is skipped. Data root:
``$DENSESIAM_SHARED_DATA`` (default ``../shared/data``). The split lists
are built from the file names of the shared data (``<drive>_<frame>``),
written under the work dir, never copied into the repository.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

from densesiam_mm.apis.benchmark_runs import run_command
from densesiam_mm.apis.tool_io import format_mean_std, mean_std

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
PROBE = osp.join(REPO_ROOT, 'tools', 'analysis', 'dense_probe.py')
METHODS = {
    'DenseSiam':
    'configs/densesiam/densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py',
    'DenseSiam (λ2 = 0)':
    'configs/densesiam/'
    'densesiam-wo-regionsim_resnet18_1xb16-coslr-300i_camvid-128x128.py',
    'SimSiam':
    'configs/simsiam/simsiam_resnet18_1xb16-coslr-300i_camvid-128x128.py',
    'DenseCL':
    'configs/densecl/densecl_resnet18_1xb16-coslr-300i_camvid-128x128.py',
}
#: single-change runs (not in the default --methods): a method's config
#: with one setting changed, to find out why one method leads another
VARIANTS = {
    'DenseSiam (no zero-init)':
    ('DenseSiam', ['model.backbone.zero_init_residual=False']),
}
METHODS.update({name: METHODS[base] for name, (base, _) in VARIANTS.items()})
SLUGS = {
    'DenseSiam (no zero-init)': 'densesiam_no_zero_init',
    'DenseSiam': 'densesiam',
    'DenseSiam (λ2 = 0)': 'densesiam_wo_regionsim',
    'SimSiam': 'simsiam',
    'DenseCL': 'densecl',
}
PRETRAIN_DRIVES = ('0001TP', '0016E5')
HELDOUT_DRIVE = '0006R0'


def data_root():
    return osp.join(
        os.environ.get('DENSESIAM_SHARED_DATA',
                       osp.join(REPO_ROOT, '..', 'shared', 'data')), 'camvid')


def frames(split, drives):
    """``split/stem`` of the CamVid frames of ``split`` from ``drives``,
    sorted."""
    root = osp.join(data_root(), 'images', split)
    if not osp.isdir(root):
        sys.exit(f'CamVid frames not found: {root} (set '
                 'DENSESIAM_SHARED_DATA to the folder holding camvid/)')
    stems = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(root, '*.jpg')))
    return [f'{split}/{s}' for s in stems if s.split('_')[0] in drives]


def write_lines(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(path + '.tmp', path)
    return path


def make_splits(work_dir):
    """The leave-one-drive-out split lists (paths relative to
    ``camvid/images``; the label of ``images/x/y.jpg`` is
    ``labels/x/y.png``)."""
    seen_train = frames('train', PRETRAIN_DRIVES)
    seen_val = frames('val', PRETRAIN_DRIVES)
    heldout = frames('train', (HELDOUT_DRIVE, ))
    pretrain = seen_train + seen_val
    if len(pretrain) != 367 or len(heldout) != 101:
        print(f'note: {len(pretrain)} pre-training and {len(heldout)} '
              'held-out frames (the shared CamVid has 367 and 101)')
    split_dir = osp.join(work_dir, 'splits')
    return dict(
        pretrain=write_lines(
            osp.join(split_dir, 'pretrain.txt'),
            [f + '.jpg' for f in pretrain]),
        seen_train=seen_train,
        seen_val=seen_val,
        pretrain_stems=pretrain,
        heldout=heldout)


def run(cmd, log_file):
    """``cmd`` in the repo root, appended to ``log_file``, failing loudly;
    wall and CPU seconds."""
    return run_command(cmd, log_file, cwd=REPO_ROOT, append=True)


def run_dir(work_dir, name, seed):
    """Checkpoints and log of one pre-training run (not in the repo)."""
    return osp.join(work_dir, 'pretrain', f'{SLUGS[name]}-seed{seed}')


def row_slug(row):
    """File name of a final-table row: a method, or a random row."""
    if row in RANDOM_ROWS:
        return 'random_' + SLUGS[RANDOM_ROWS[row]]
    return SLUGS[row]


def result_file(args, kind, row, seed, name):
    """A small result file in ``--results-dir``: ``kind`` is ``curve``
    (``name`` = ``iter_<N>.json``), ``final`` (``<stages>_<protocol>.json``)
    or ``timing`` (``pretrain.json``)."""
    return osp.join(args.results_dir, kind, f'{row_slug(row)}-seed{seed}',
                    name)


def curve_iterations(args):
    return list(range(0, args.iters + 1, args.curve_interval))


def run_complete(name, seed, args):
    """Every result this run feeds (its curve, and its final probes when
    the ``final`` phase is on) is in ``--results-dir``."""
    needed = [
        result_file(args, 'curve', name, seed, f'iter_{it}.json')
        for it in curve_iterations(args)
    ]
    if 'final' in args.phases:
        needed += [
            result_file(args, 'final', name, seed, f'{st}_{pr}.json')
            for st in FINAL_STAGES for pr in ('val', 'heldout')
        ]
    return all(osp.isfile(path) for path in needed)


def read_json(path, default=None):
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return default


def write_json(path, value):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(value, f, indent=1)
    os.replace(path + '.tmp', path)


def precision(args):
    """What the pre-training ran in: ``tools/train.py --amp`` is bf16 only on
    a CPU with native bf16 (it keeps fp32 elsewhere) or on CUDA (fp16)."""
    import torch

    from densesiam_mm.engine.optimizers import cpu_has_native_bf16
    if args.no_amp:
        return 'fp32'
    if torch.cuda.is_available():
        return 'fp16 (AmpOptimWrapper) + channels_last'
    if cpu_has_native_bf16() is False:
        return 'fp32 (no native bf16 on this CPU) + channels_last'
    return 'bf16 + channels_last'


def pretrain(name, seed, args, splits):
    """Pre-train (or resume) one run; returns its timing record."""
    out_dir = run_dir(args.work_dir, name, seed)
    final = osp.join(out_dir, f'iter_{args.iters}.pth')
    timing_file = result_file(args, 'timing', name, seed, 'pretrain.json')
    timing = read_json(timing_file,
                       dict(seconds=0., cpu_seconds=0., segments=0))
    if osp.isfile(final) or run_complete(name, seed, args):
        return timing
    os.makedirs(out_dir, exist_ok=True)
    n = args.iters
    cmd = [sys.executable, TRAIN, METHODS[name], '--work-dir', out_dir]
    if not args.no_amp:
        cmd += ['--amp', '--channels-last']
    if osp.isfile(osp.join(out_dir, 'last_checkpoint')):
        cmd.append('--resume')
    cmd += [
        '--cfg-options', f'train_cfg.max_iters={n}',
        f'param_scheduler.0.T_max={n}', f'param_scheduler.0.end={n}',
        f'randomness.seed={seed}', 'train_dataloader.dataset.data_prefix='
        'images', f'train_dataloader.dataset.ann_file={splits["pretrain"]}',
        f'train_dataloader.dataset.data_root={data_root()}/',
        f'default_hooks.checkpoint.interval={args.interval}',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=50', *VARIANTS.get(name, (None, []))[1]
    ]
    print(
        f'[{time.strftime("%H:%M:%S")}] {name} seed {seed}: pre-training '
        f'{n} iterations ({"resumed" if "--resume" in cmd else "new"})',
        flush=True)
    seconds, cpu_seconds = run(cmd, out_dir + '.log')
    timing['precision'] = precision(args)
    timing['seconds'] += seconds
    timing['cpu_seconds'] += cpu_seconds
    timing['segments'] += 1
    write_json(timing_file, timing)
    print(
        f'[{time.strftime("%H:%M:%S")}] {name} seed {seed}: done, '
        f'{timing["seconds"] / 60:.1f} min wall, '
        f'{timing["cpu_seconds"] / 60:.1f} CPU min',
        flush=True)
    return timing


#: the curve probe: cheap enough for every kept checkpoint (trend lines);
#: the final table uses DenseProbe's full protocol (320x240, 3 seeds)
CURVE_PROBE = dict(
    input_size=(160, 120),
    stages=(3, ),
    num_clusters=(11, ),
    linear_iters=200,
    label_size='input')


def protocols(splits):
    """``{name: (fit dataset, fit stems, eval dataset, eval stems)}``."""
    from densesiam_mm.evaluation.dense_probe import camvid_dataset
    root = data_root()
    both = [camvid_dataset('train', root), camvid_dataset('val', root)]
    return dict(
        val=dict(
            fit_dataset=camvid_dataset('train', root),
            fit_select=list(PRETRAIN_DRIVES),
            eval_dataset=camvid_dataset('val', root)),
        heldout=dict(
            fit_dataset=both,
            fit_select=list(PRETRAIN_DRIVES),
            eval_dataset=camvid_dataset('train', root),
            eval_select=[HELDOUT_DRIVE]))


def build_model(name, seed, init=True):
    """The model of method ``name`` (its config, with a variant's changes)
    and, with ``init``, its weights initialised after seeding with ``seed``
    (iteration 0)."""
    import ast

    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed
    from mmpretrain.registry import MODELS

    import densesiam_mm  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO_ROOT, METHODS[name]))
    for option in VARIANTS.get(name, (None, []))[1]:
        key, value = option.split('=', 1)
        cfg.merge_from_dict({key: ast.literal_eval(value)})
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        set_random_seed(seed)
        model = MODELS.build(cfg.model)
        if init:
            model.init_weights()
    return model


def curve(name, seed, args, probes):
    """Curve points of one finished run: ``{iteration: {protocol:
    result}}``, one JSON per checkpoint under ``curve/``."""
    from densesiam_mm.models.probes.backbone_weights import \
        load_backbone_weights
    source = run_dir(args.work_dir, name, seed)
    points = {}
    model = None
    for it in curve_iterations(args):
        path = result_file(args, 'curve', name, seed, f'iter_{it}.json')
        result = read_json(path)
        if result is None:
            ckpt = osp.join(source, f'iter_{it}.pth')
            if it and not osp.isfile(ckpt):
                break  # not pre-trained this far yet
            if it == 0:
                backbone = build_model(name, seed).backbone
            else:
                if model is None:
                    model = build_model(name, seed, init=False)
                backbone = model.backbone
                load_backbone_weights(backbone, ckpt)
            start = time.time()
            result = {
                protocol: probe.evaluate(backbone)
                for protocol, probe in probes.items()
            }
            result['seconds'] = time.time() - start
            write_json(path, result)
            print(
                f'[{time.strftime("%H:%M:%S")}] {name} seed {seed} '
                f'iter {it}: ' +
                ', '.join(f'{p} linear {r["linear_miou"]:.2f} k-means '
                          f'{r["kmeans_miou"]:.2f}'
                          for p, r in result.items() if p != 'seconds') +
                f' ({result["seconds"]:.0f} s)',
                flush=True)
        points[it] = result
    return points


#: the final table: DenseProbe's full protocol (320x240 frames scored at
#: the labels' 480x360, 200 linear steps), k = 11 and 33, 3 probe seeds
FINAL_PROBE = dict(
    input_size=(320, 240), num_clusters=(11, 33), linear_iters=200)
FINAL_STAGES = {'C5': (3, ), 'C3-C5': (1, 2, 3)}
#: random rows: the iteration-0 backbone of a run whose ResNet has the
#: initialisation named (mmpretrain's SimSiam/DenseSiam configs zero-init
#: the last BN of every residual block; DenseCL's does not)
RANDOM_ROWS = {
    'random (zero-init residual)': 'DenseSiam',
    'random (no zero-init)': 'DenseCL',
}


def final(row, seed, args, probes):
    """Final probes of one row (a method's last checkpoint, or a random
    initialisation): ``{stages: {protocol: result}}``."""
    from densesiam_mm.models.probes.backbone_weights import \
        load_backbone_weights
    method = RANDOM_ROWS.get(row, row)
    results, backbone = {}, None
    for stage_name, stages in FINAL_STAGES.items():
        for protocol, probe in probes.items():
            path = result_file(args, 'final', row, seed,
                               f'{stage_name}_{protocol}.json')
            result = read_json(path)
            if result is None:
                if backbone is None:
                    if row in RANDOM_ROWS:
                        backbone = build_model(method, seed).backbone
                    else:
                        ckpt = osp.join(
                            run_dir(args.work_dir, row, seed),
                            f'iter_{args.iters}.pth')
                        if not osp.isfile(ckpt):
                            return None  # not pre-trained yet
                        backbone = build_model(row, seed, init=False).backbone
                        load_backbone_weights(backbone, ckpt)
                probe.stages = tuple(stages)
                result = probe.evaluate(backbone, seeds=args.probe_seeds)
                write_json(path, result)
                print(
                    f'[{time.strftime("%H:%M:%S")}] final {row} seed '
                    f'{seed} {stage_name} {protocol}: linear '
                    f'{result["linear_miou"]:.2f}, k-means '
                    f'{result["kmeans_miou"]:.2f} '
                    f'({result["seconds"]:.0f} s)',
                    flush=True)
            results.setdefault(stage_name, {})[protocol] = result
    return results


def curve_values(seeds, protocol, key='linear_miou'):
    """``{iteration: [value of each seed probed there]}`` of one method's
    curve (``seeds[seed][iteration][protocol][key]``)."""
    values = {}
    for run in seeds.values():
        for i, result in run.items():
            values.setdefault(i, []).append(result[protocol][key])
    return values


def mean_curve(seeds, protocol, key='linear_miou'):
    """``{iteration: mean over the seeds probed there}`` of one method's
    curve."""
    values = curve_values(seeds, protocol, key)
    return {i: mean_std(values[i])[0] for i in sorted(values)}


def crossings(ours, theirs):
    """Where ``ours - theirs`` changes sign between two probed iterations.

    Args:
        ours, theirs (dict): ``{iteration: mIoU}`` mean curves.

    Returns:
        tuple: ``(gaps, changes)``: ``gaps`` is ``[(iteration, ours -
        theirs)]`` at the iterations both probed; ``changes`` is
        ``[(before, after, 'ahead' | 'behind')]``, where ``ours`` is ahead
        or behind from ``after`` on (a tie is no change of sign).
    """
    gaps = [(i, ours[i] - theirs[i]) for i in sorted(set(ours) & set(theirs))]
    signed = [(i, g) for i, g in gaps if g != 0]
    changes = [(i0, i1, 'ahead' if g1 > 0 else 'behind')
               for (i0, g0), (i1, g1) in zip(signed, signed[1:])
               if (g0 > 0) != (g1 > 0)]
    return gaps, changes


def crossing_lines(curves, reference='DenseSiam'):
    """Markdown: the reference method's lead over every other method along
    the curve (linear probe), and where the curves cross.

    Each pair is compared on the pre-training seeds both methods have (a
    paired comparison), so a method with fewer finished seeds is not
    measured against a mean over seeds it does not have.
    """
    if reference not in curves or len(curves) < 2:
        return []
    lines = [
        f'## Where the curves cross ({reference} minus each method, '
        'C5 linear probe, mean over the pre-training seeds both have)', '',
        '| protocol | method | seeds | gap at each probed iteration | '
        'crossings |', '| --- | --- | --- | --- | --- |'
    ]
    for protocol in ('val', 'heldout'):
        for name, seeds in curves.items():
            common = sorted(set(curves[reference]) & set(seeds))
            if name == reference or not common:
                continue
            ours = mean_curve({s: curves[reference][s]
                               for s in common}, protocol)
            theirs = mean_curve({s: seeds[s] for s in common}, protocol)
            gaps, changes = crossings(ours, theirs)
            if not gaps:
                continue
            cells = ', '.join(f'{i}: {g:+.1f}' for i, g in gaps)
            if changes:
                where = '; '.join(f'{reference} {side} from between {a} '
                                  f'and {b}' for a, b, side in changes)
            elif any(g for _, g in gaps):  # one sign wherever they differ
                side = 'ahead' if max(g for _, g in gaps) > 0 else 'behind'
                where = f'none: {reference} {side} throughout'
            else:
                where = 'none: tied throughout'
            lines.append(f'| {protocol} | {name} | '
                         f'{",".join(map(str, common))} | {cells} | '
                         f'{where} |')
    return lines + ['']


def plot_curves(curves, args, path):
    """``curves[name][seed] = {iteration: {protocol: result}}`` -> PNG: one
    panel per protocol and probe, mean over seeds with a min-max band."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = [('val', 'linear_miou'), ('heldout', 'linear_miou'),
              ('val', 'kmeans_miou'), ('heldout', 'kmeans_miou')]
    titles = {
        'val': 'CamVid val (drive 0016E5, seen unlabelled)',
        'heldout': 'drive 0006R0 (never seen)'
    }
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (protocol, key) in zip(axes.flat, panels):
        for name, seeds in curves.items():
            # the seeds whose curve reaches the furthest iteration probed
            # (an unfinished seed would bend the mean where it stops)
            last = max(max(v) for v in seeds.values())
            runs = [v for v in seeds.values() if last in v]
            its = sorted(set.intersection(*[set(v) for v in runs]))
            values = [[run[i][protocol][key] for run in runs] for i in its]
            mean = [sum(v) / len(v) for v in values]
            done = len(runs)
            line, = ax.plot(
                its,
                mean,
                marker='o',
                ms=3,
                label=f'{name} ({done} seed{"s" * (done > 1)})')
            if done > 1:
                ax.fill_between(
                    its, [min(v) for v in values], [max(v) for v in values],
                    color=line.get_color(),
                    alpha=0.2)
        probe = 'linear probe' if key == 'linear_miou' else 'k-means (k=11)'
        ax.set_title(f'{probe}: {titles[protocol]}', fontsize=9)
        ax.set_ylabel('mIoU (%)')
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel('pre-training iteration (batch 16)')
    axes[0, 0].legend(fontsize=8)
    fig.suptitle('Frozen C5 probes of ResNet-18 during pre-training on '
                 'CamVid drives 0001TP + 0016E5 (160x120 probe)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(args, curves, finals, timings):
    """results.md and curves.png in the results dir, results.json in the
    work dir."""
    lines = [
        '## Curves (linear probe mIoU, C5, 160x120; mean over '
        'pre-training seeds)', ''
    ]
    its = sorted(
        {i
         for seeds in curves.values()
         for s in seeds.values()
         for i in s})
    for protocol in ('val', 'heldout'):
        lines += [
            f'**{protocol}**', '',
            '| method | ' + ' | '.join(map(str, its)) + ' |',
            '| --- |' + ' --- |' * len(its)
        ]
        for name, seeds in curves.items():
            values = curve_values(seeds, protocol)
            cells = [
                f'{mean_std(values[i])[0]:.1f} (n={len(values[i])})'
                if i in values else '-' for i in its
            ]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    lines += crossing_lines(curves)
    lines += [
        '## Final probes (mean ± std over pre-training seeds; each seed: '
        'mean of probe seeds ' + ', '.join(map(str, args.probe_seeds)) + ')',
        ''
    ]
    header = ['row', 'seeds', 'pre-training wall / CPU min', 'precision']
    keys = []
    for stage_name in FINAL_STAGES:
        for protocol in ('val', 'heldout'):
            for key, label in (('linear_miou', 'linear'), ('kmeans_k11_miou',
                                                           'k-means 11'),
                               ('kmeans_k33_miou', 'k-means 33')):
                header.append(f'{stage_name} {protocol} {label}')
                keys.append((stage_name, protocol, key))
    lines += ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for row, seeds in finals.items():
        done = {s: r for s, r in seeds.items() if r}
        if not done:
            continue
        times = [timings.get((row, s)) for s in done]
        times = [t for t in times if t]
        wall = (
            f'{sum(t["seconds"] for t in times) / len(times) / 60:.1f}'
            f' / {sum(t["cpu_seconds"] for t in times) / len(times) / 60:.1f}'
            if times else '-')
        kinds = sorted({t.get('precision', 'not recorded') for t in times})
        cells = [row, ','.join(map(str, done)), wall, ', '.join(kinds) or '-']
        for stage_name, protocol, key in keys:
            cells.append(
                format_mean_std([
                    r.get(stage_name, {}).get(protocol, {}).get(key)
                    for r in done.values()
                ]))
        lines.append('| ' + ' | '.join(cells) + ' |')
    text = '\n'.join(lines) + '\n'
    os.makedirs(args.results_dir, exist_ok=True)
    with open(osp.join(args.results_dir, 'results.md'), 'w') as f:
        f.write(text)
    write_json(
        osp.join(args.work_dir, 'results.json'),
        dict(
            curves={
                n: {
                    str(s): v
                    for s, v in seeds.items()
                }
                for n, seeds in curves.items()
            },
            final={
                n: {
                    str(s): v
                    for s, v in seeds.items()
                }
                for n, seeds in finals.items()
            }))
    if curves:
        plot_curves(curves, args, osp.join(args.results_dir, 'curves.png'))
    print(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/dense_curves_camvid',
        help='checkpoints, logs and split lists')
    parser.add_argument(
        '--results-dir',
        default=osp.join(REPO_ROOT, 'docs', 'benchmarks',
                         'dense_curves_camvid'),
        help='the small result files (curve points, final probes, '
        'times), results.md and curves.png; kept in the repository so a '
        'later session resumes from them')
    parser.add_argument('--iters', type=int, default=1500)
    parser.add_argument('--interval', type=int, default=150)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument(
        '--curve-interval',
        type=int,
        default=300,
        help='probe every this many iterations for the curves (a multiple '
        'of --interval; lower it and rerun to fill in the curves)')
    parser.add_argument(
        '--probe-seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--final-input-size',
        type=int,
        nargs=2,
        default=[320, 240],
        metavar=('W', 'H'),
        help='frame size of the final probes')
    parser.add_argument(
        '--methods',
        nargs='+',
        choices=list(METHODS),
        default=[name for name in METHODS if name not in VARIANTS])
    parser.add_argument(
        '--phases',
        nargs='+',
        choices=['pretrain', 'curve', 'final', 'report'],
        default=['pretrain', 'curve', 'final', 'report'])
    parser.add_argument(
        '--no-amp',
        action='store_true',
        help='fp32 pre-training (default: bf16 autocast + channels-last)')
    args = parser.parse_args(argv)
    if args.iters % args.interval:
        parser.error('--iters must be a multiple of --interval')
    if args.curve_interval % args.interval:
        parser.error('--curve-interval must be a multiple of --interval')
    args.work_dir = osp.abspath(args.work_dir)
    args.results_dir = osp.abspath(args.results_dir)
    return args


def build_probes(splits, **settings):
    from densesiam_mm.evaluation import DenseProbe
    return {
        protocol: DenseProbe(**spec, **settings)
        for protocol, spec in protocols(splits).items()
    }


def result_seeds(args):
    """``--seeds`` and every seed with a result file in ``--results-dir``."""
    seeds = set(args.seeds)
    for path in glob.glob(osp.join(args.results_dir, '*', '*-seed*')):
        suffix = osp.basename(path).rsplit('-seed', 1)[1]
        if suffix.isdigit():
            seeds.add(int(suffix))
    return sorted(seeds)


def collect(args):
    """Every result in ``--results-dir``: ``(curves, finals, timings)`` as
    :func:`report` takes them.

    All methods and seeds with results are collected, not only
    ``--methods`` / ``--seeds``, so that a run of one method (e.g. a
    single-change variant) rewrites a report that still has the others.
    """
    curves, finals, timings = {}, {}, {}
    for seed in result_seeds(args):
        for name in METHODS:
            points = {}
            for it in range(0, args.iters + 1, args.interval):
                result = read_json(
                    result_file(args, 'curve', name, seed, f'iter_{it}.json'))
                if result:
                    points[it] = result
            if points:
                curves.setdefault(name, {})[seed] = points
            timings[(name, seed)] = read_json(
                result_file(args, 'timing', name, seed, 'pretrain.json'))
        for row in [*METHODS, *RANDOM_ROWS]:
            result = {}
            for stage_name in FINAL_STAGES:
                for protocol in ('val', 'heldout'):
                    value = read_json(
                        result_file(args, 'final', row, seed,
                                    f'{stage_name}_{protocol}.json'))
                    if value:
                        result.setdefault(stage_name, {})[protocol] = value
            if result:
                finals.setdefault(row, {})[seed] = result
    return curves, finals, timings


def main(argv=None):
    args = parse_args(argv)
    splits = make_splits(args.work_dir)
    write_json(
        osp.join(args.work_dir, 'settings.json'),
        dict(
            vars(args),
            pretrain_frames=len(splits['pretrain_stems']),
            heldout_frames=len(splits['heldout'])))
    curve_probes = final_probes = None
    if 'curve' in args.phases:
        curve_probes = build_probes(splits, **CURVE_PROBE)
    if 'final' in args.phases:
        final_probes = build_probes(
            splits,
            **dict(FINAL_PROBE, input_size=tuple(args.final_input_size)))
    # run-major, seed-major: one run is finished (pre-trained, its curve
    # and its final probes) before the next starts, and every method's
    # first seed before any second seed; a seed's random rows (the
    # starting points the methods are measured against; no pre-training)
    # come first
    for seed in args.seeds:
        if final_probes:
            for row in RANDOM_ROWS:
                final(row, seed, args, final_probes)
        for name in args.methods:
            if 'pretrain' in args.phases:
                pretrain(name, seed, args, splits)
            if curve_probes:
                curve(name, seed, args, curve_probes)
            if final_probes:
                final(name, seed, args, final_probes)
    if 'report' in args.phases:
        report(args, *collect(args))


if __name__ == '__main__':
    main()
