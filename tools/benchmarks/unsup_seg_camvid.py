# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Unsupervised segmentation on CamVid: which choices matter.

    OMP_NUM_THREADS=1 nice -n 10 python tools/benchmarks/unsup_seg_camvid.py \
        --work-dir work_dirs/unsup_seg_camvid --epochs 2 --seeds 0 1 2 \
        [--inits random pretrained --pretrained PRETRAIN.pth] [--rows ...]

Every row trains with the same data (the 367 CamVid train frames, labels
unused), epochs, batch and initialisation, and is evaluated on the val
split (Hungarian matching, 11 classes). Rows (``--rows``, default all):

- ``kmeans``: k-means on the initial features (PiCIE's clustering hook
  once, no training);
- ``dss-official`` / ``dss-variant``: DenseSiam-Seg, the authors' recipe
  (``densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py``) and this project's
  earlier variant (``densesiam-seg-grid_...``);
- ``picie-official`` / ``picie-variant``: PiCIE, likewise;
  ``picie-official-sampled``: the authors' recipe with the clustering on
  256 sampled pixels per image and view instead of every pixel;
- the paper's Table 5 ablation on the authors' recipe: ``pixsim`` (PixSim
  only), ``pixsim-aux`` (+ aux), ``pixsim-aux-seg`` (+ L_seg); "+ RegionSim"
  is ``dss-official`` itself;
- ``dss-official-lr0.05``: the authors' recipe at the earlier lr 0.05
  (32x the 0.05 x batch / 256 rule at batch 8).

Initialisations (``--inits``): ``random`` - for each seed, the randomly
initialised encoder + FPN saved once to ``WORK_DIR/init_seed{S}.pth`` and
loaded by every row; ``pretrained`` - the same FPN, the encoder from
``--pretrained`` (this project's DenseSiam pre-training on the CamVid train
frames; the script waits for the file if it is still being trained).

Each run's per-epoch wall time (from before the clustering hook to the end
of the epoch, so PiCIE's clustering is included) and metrics go to
``WORK_DIR/runs.json`` as soon as the run ends; a rerun skips the runs
already there (resumable). The table (mean +- std over seeds) is printed and
written to ``WORK_DIR/results.md``.

Runs are not bit-reproducible on CPU (the 4th digit of the losses moves
after a few iterations between runs with the same seed); the seeds give
the spread.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import densesiam_mm  # noqa: F401
from densesiam_mm.apis.tool_io import check_distinct
from densesiam_mm.engine.hooks import KMeansClusteringHook

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_SEG = 'configs/unsup_seg/'
CONFIGS = {
    'dss-official': _SEG + 'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py',
    'dss-variant': _SEG + 'densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py',
    'picie-official': _SEG + 'picie_resnet18-fpn_1xb8-3e_camvid.py',
    'picie-variant': _SEG + 'picie-online_resnet18-fpn_1xb8-3e_camvid.py',
}
ROWS = {
    # name: (label, base config, model overrides, drop RegionSimHook)
    'kmeans': ('k-means on the initial features (no training)',
               'picie-official', {}, False),
    'dss-official': ('DenseSiam-Seg, authors\' recipe (= + RegionSim)',
                     'dss-official', {}, False),
    'dss-variant':
    ('DenseSiam-Seg, earlier variant', 'dss-variant', {}, False),
    'picie-official': ('PiCIE, authors\' recipe', 'picie-official', {}, False),
    'picie-official-sampled':
    ('PiCIE, authors\' recipe, 256 sampled pixels per image and view',
     'picie-official', {}, False),
    'picie-variant': ('PiCIE, earlier variant', 'picie-variant', {}, False),
    'pixsim': ('Table 5: PixSim only', 'dss-official',
               dict(
                   aux_projector=None,
                   aux_pix_sim_head=None,
                   pseudo_label_loss=None,
                   region_sim_head=None), True),
    'pixsim-aux': ('Table 5: PixSim + aux', 'dss-official',
                   dict(pseudo_label_loss=None, region_sim_head=None), True),
    'pixsim-aux-seg': ('Table 5: PixSim + aux + L_seg', 'dss-official',
                       dict(region_sim_head=None), True),
    'dss-official-lr0.05':
    ('DenseSiam-Seg, authors\' recipe at lr 0.05', 'dss-official', {}, False),
}


class EpochTimerHook(Hook):
    """Wall and CPU (this process) time of each training epoch, clustering
    included."""
    priority = 'VERY_HIGH'  # before clustering, before checkpointing

    def __init__(self):
        self.times, self.cpu_times = [], []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def after_train_epoch(self, runner):
        self.times.append(time.perf_counter() - self._start)
        self.cpu_times.append(time.process_time() - self._cpu_start)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/unsup_seg_camvid')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--inits',
        nargs='+',
        default=['random'],
        choices=['random', 'pretrained'])
    parser.add_argument(
        '--pretrained',
        default=None,
        help='DenseSiam pre-training checkpoint (backbone.*)')
    parser.add_argument(
        '--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    parser.add_argument(
        '--frames',
        type=int,
        nargs=2,
        default=None,
        metavar=('TRAIN', 'VAL'),
        help='use only the first TRAIN / VAL frames (smoke runs)')
    parser.add_argument(
        '--train-stride',
        type=int,
        default=1,
        help='train on every STRIDE-th train frame (all sequences, fewer '
        'frames)')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='write the table and plot of the runs done')
    parser.add_argument(
        '--view-size',
        type=int,
        default=None,
        help='override the view size of every row')
    args = parser.parse_args(argv)
    check_distinct(parser, args.seeds, '--seeds')
    return args


def _set_view_size(cfg, size):
    """View size of either pipeline family (nested views / random crops)."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'NestedCropViews':
            step['view_size'] = size
        elif step['type'] == 'ResizeCenterCrop':
            step['size'] = 2 * size
        elif step['type'] == 'ResizeShortestEdge':
            step['scale'] = int(size * 1.25)
        elif step['type'] == 'MultiViewWithGeometry':
            step['transforms'][0][0]['scale'] = size
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizeShortestEdge':
            step['scale'] = size if 'NestedCropViews' in str(
                cfg.train_dataloader.dataset.pipeline) else int(size * 1.25)


def load_cfg(row, work_dir, init, seed, args):
    label, base, overrides, drop_region_hook = ROWS[row]
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[base]))
    run = f'{row}_{init}_seed{seed}'
    cfg.work_dir = osp.join(work_dir, run)
    cfg.visualizer.name = f'visualizer_{run}'  # one per Runner
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = args.epochs
    # no validation loop: every run is evaluated once, by runner.test()
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = args.epochs
    cfg.default_hooks.logger.interval = 10
    for key, value in overrides.items():
        cfg.model[key] = value
    if drop_region_hook:
        cfg.custom_hooks = [
            h for h in cfg.get('custom_hooks', [])
            if 'RegionSimHook' not in h['type']
        ]
    if row == 'dss-official-lr0.05':
        cfg.optim_wrapper.optimizer.lr = 0.05
    if row == 'picie-official-sampled':
        for hook in cfg.custom_hooks:
            if hook['type'] == 'KMeansClusteringHook':
                hook.update(clustering='sampled', points_per_image=256)
    if args.frames is not None:
        cfg.train_dataloader.dataset.indices = args.frames[0]
        cfg.test_dataloader.dataset.indices = args.frames[1]
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.get('replay_seed') is not None:
            step['replay_seed'] = seed  # each seed its own fixed views
    if args.train_stride > 1:
        cfg.train_dataloader.dataset.indices = list(
            range(0, 367, args.train_stride))
    if args.view_size is not None:
        _set_view_size(cfg, args.view_size)
    init_ckpt = osp.join(work_dir, f'init_seed{seed}.pth')
    for part in ('backbone', 'neck'):
        checkpoint = args.pretrained \
            if init == 'pretrained' and part == 'backbone' else init_ckpt
        cfg.model[part].init_cfg = dict(
            type='Pretrained', checkpoint=checkpoint, prefix=f'{part}.')
    return cfg, label


def save_shared_init(work_dir, seed):
    """Random encoder + FPN weights shared by every row of a seed."""
    path = osp.join(work_dir, f'init_seed{seed}.pth')
    if osp.isfile(path):
        return path
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['dss-official']))
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = {
        k: v
        for k, v in model.state_dict().items()
        if k.startswith(('backbone.', 'neck.'))
    }
    torch.save(dict(state_dict=state, meta=dict(seed=seed)), path)
    return path


def run_once(row, cfg):
    """Train (or, for ``kmeans``, cluster once) and evaluate one run."""
    runner = Runner.from_cfg(cfg)
    if row == 'kmeans':
        runner.model.init_weights()
        hook = next(
            h for h in runner.hooks if isinstance(h, KMeansClusteringHook))
        cpu_start = time.process_time()
        hook.cluster(runner)  # the config's clustering step
        times = [hook.last_time]
        cpu_times = [time.process_time() - cpu_start]
    else:
        timer = EpochTimerHook()
        runner.register_hook(timer)
        runner.train()
        times, cpu_times = timer.times, timer.cpu_times
    metrics = runner.test()
    return dict(
        metrics={
            k: float(v)
            for k, v in metrics.items()
        },
        epoch_times=times,
        epoch_cpu_times=cpu_times,
        val_frames=len(runner.test_dataloader.dataset),
        train_frames=len(runner.train_dataloader.dataset))


def _mean_std(values):
    if not values:
        return '-'
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.
    return f'{mean:.2f} ± {std:.2f}'


def _median(values):
    values = sorted(values)
    return f'{values[len(values) // 2]:.0f}' if values else '-'


def table(runs, rows, inits, seeds):
    lines = [
        '| init | method | mIoU | pixel acc. | seeds | '
        'wall s/epoch (median) | CPU s/epoch (median) |',
        '| --- | --- | --- | --- | --- | --- | --- |'
    ]
    for init in inits:
        for row in rows:
            done = [
                runs[key] for key in (f'{row}_{init}_seed{seed}'
                                      for seed in seeds) if key in runs
            ]
            if not done:
                continue
            per_epoch = [
                _median([t for run in done for t in run.get(key, [])])
                for key in ('epoch_times', 'epoch_cpu_times')
            ]
            if row == 'kmeans':
                per_epoch = [f'{t} (clustering once)' for t in per_epoch]
            lines.append(
                f'| {init} | {ROWS[row][0]} | '
                f"{_mean_std([r['metrics']['mIoU'] for r in done])} | "
                f"{_mean_std([r['metrics']['aAcc'] for r in done])} | "
                f'{len(done)} | {per_epoch[0]} | {per_epoch[1]} |')
    return '\n'.join(lines)


def wait_for(path, poll=30):
    while not osp.isfile(path):
        print(f'waiting for {path} ...', flush=True)
        time.sleep(poll)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('DENSESIAM_SHARED_DATA',
                          osp.join(REPO_ROOT, '..', 'shared', 'data'))
    os.makedirs(args.work_dir, exist_ok=True)
    work_dir = osp.abspath(args.work_dir)
    if 'pretrained' in args.inits and not args.pretrained:
        raise ValueError('--inits pretrained needs --pretrained CHECKPOINT')
    runs_file = osp.join(work_dir, 'runs.json')
    runs = {}
    if osp.isfile(runs_file):
        with open(runs_file) as f:
            runs = json.load(f)
    val_frames = train_frames = None
    for init in ([] if args.report_only else args.inits):
        if init == 'pretrained':
            wait_for(args.pretrained)
        for seed in args.seeds:
            save_shared_init(work_dir, seed)
            for row in args.rows:
                key = f'{row}_{init}_seed{seed}'
                if key in runs:
                    continue
                cfg, label = load_cfg(row, work_dir, init, seed, args)
                start = time.perf_counter()
                result = run_once(row, copy.deepcopy(cfg))
                result['total_s'] = time.perf_counter() - start
                runs[key] = result
                with open(runs_file, 'w') as f:
                    json.dump(runs, f, indent=1)
                print(
                    f"{key}: mIoU {result['metrics']['mIoU']:.2f}, "
                    f"epochs {[round(t) for t in result['epoch_times']]} s"
                    f" (CPU {[round(t) for t in result['epoch_cpu_times']]}"
                    f" s), total {result['total_s']:.0f} s",
                    flush=True)
    for run in runs.values():
        val_frames = run.get('val_frames', val_frames)
        train_frames = run.get('train_frames', train_frames)
    text = table(runs, args.rows, args.inits, args.seeds)
    print(f'\nCamVid val ({val_frames} frames, 11 classes, Hungarian '
          f'matching); {args.epochs} epochs of {train_frames} train frames, '
          f'seeds {args.seeds}\n')
    print(text)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    plot(runs, args.rows, args.inits, args.seeds,
         osp.join(work_dir, 'results.png'))
    return runs


def plot(runs, rows, inits, seeds, path):
    """Bar chart of mIoU (mean +- std over seeds) per row and init."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    height = 0.8 / len(inits)
    for i, init in enumerate(inits):
        means, stds = [], []
        for row in rows:
            values = [
                runs[f'{row}_{init}_seed{seed}']['metrics']['mIoU']
                for seed in seeds if f'{row}_{init}_seed{seed}' in runs
            ]
            means.append(statistics.fmean(values) if values else 0)
            stds.append(statistics.stdev(values) if len(values) > 1 else 0)
        ax.barh([r + i * height for r in range(len(rows))],
                means,
                height=height,
                xerr=stds,
                label=f'{init} init',
                capsize=2)
    ax.set_yticks([r + 0.4 - height / 2 for r in range(len(rows))])
    ax.set_yticklabels([ROWS[row][0] for row in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('CamVid val mIoU (Hungarian), mean +- std over seeds')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == '__main__':
    main()
