# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam-Seg vs PiCIE on CamVid: same data, budget and initialisation.

    nice -n 10 python tools/benchmarks/unsup_seg_camvid.py \
        [--work-dir work_dirs/unsup_seg_camvid] [--epochs 3] [--seed 0]

1. Builds DenseSiam-Seg from its CamVid config with ``--seed`` and saves the
   randomly initialised encoder + FPN (``backbone.*``, ``neck.*``) to
   ``WORK_DIR/init.pth``; every row starts from these weights (loaded through
   ``init_cfg``, prefixes ``backbone.`` / ``neck.``).
2. Evaluates the untrained model (argmax of a random projector) and the
   untrained encoder + one k-means clustering (PiCIE before training).
3. Trains DenseSiam-Seg and PiCIE for ``--epochs`` epochs on the 367 train
   frames (labels unused), timing every epoch from before the clustering
   hook to before checkpointing (the table shows the median epoch, robust
   to load spikes on a shared machine), and evaluates both on the 101 val
   frames (Hungarian matching, 11 classes).
4. Prints a markdown table and writes it with the raw numbers to
   ``WORK_DIR/results.{md,json}``.

Runs are not bit-reproducible on CPU: DenseSiam-Seg's losses differ in the
4th digit after ten iterations between runs with the same seed (PiCIE's
results were identical in every run), and the difference grows with
training; compare several runs.
"""
import argparse
import copy
import json
import os
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import densesiam_mm  # noqa: F401
from densesiam_mm.engine.hooks import KMeansClusteringHook

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'DenseSiam-Seg': 'configs/unsup_seg/'
    'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py',
    'PiCIE': 'configs/unsup_seg/picie_resnet18-fpn_1xb8-3e_camvid.py',
}


class EpochTimerHook(Hook):
    """Wall time of each training epoch, clustering included."""
    priority = 'VERY_HIGH'  # before clustering, before checkpointing

    def __init__(self):
        self.times = []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()

    def after_train_epoch(self, runner):
        self.times.append(time.perf_counter() - self._start)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/unsup_seg_camvid')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--frames', type=int, nargs=2, default=None, metavar=('TRAIN', 'VAL'),
        help='use only the first TRAIN / VAL frames (smoke runs)')
    return parser.parse_args()


def load_cfg(name, work_dir, init_ckpt, epochs, seed, frames=None):
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[name]))
    cfg.work_dir = osp.join(work_dir, name.lower())
    cfg.visualizer.name = f'visualizer_{name}'  # one per Runner
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = epochs
    # no validation loop: every row is evaluated once, by runner.test()
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.default_hooks.logger.interval = 10
    if frames is not None:
        cfg.train_dataloader.dataset.indices = frames[0]
        cfg.test_dataloader.dataset.indices = frames[1]
    if init_ckpt is not None:
        for part in ('backbone', 'neck'):
            cfg.model[part].init_cfg = dict(
                type='Pretrained', checkpoint=init_ckpt, prefix=f'{part}.')
    return cfg


def save_shared_init(work_dir, seed):
    """Random encoder + FPN weights shared by every row."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['DenseSiam-Seg']))
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = {
        k: v
        for k, v in model.state_dict().items()
        if k.startswith(('backbone.', 'neck.'))
    }
    path = osp.join(work_dir, 'init.pth')
    torch.save(dict(state_dict=state, meta=dict(seed=seed)), path)
    return path


def evaluate_untrained(name, cfg, cluster_first=False):
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    start = time.perf_counter()
    if cluster_first:
        hook = next(h for h in runner.hooks
                    if isinstance(h, KMeansClusteringHook))
        hook.cluster(runner)  # the config's clustering step
    cluster_time = time.perf_counter() - start
    metrics = runner.test()
    return dict(name=name, metrics=metrics, epoch_times=[],
                note=f'k-means {cluster_time:.0f}s' if cluster_first else '')


def train_and_evaluate(name, cfg):
    runner = Runner.from_cfg(cfg)
    timer = EpochTimerHook()
    runner.register_hook(timer)
    start = time.perf_counter()
    runner.train()
    total = time.perf_counter() - start
    metrics = runner.test()
    return dict(name=name, metrics=metrics, epoch_times=timer.times,
                note=f'{len(timer.times)} epochs, {total:.0f}s with startup')


def table(rows):
    """Markdown table; s/epoch is the median over epochs (robust to load
    spikes on a shared machine), every epoch's time in the note."""
    lines = [
        '| method | mIoU | pixel acc. | mIoU thing | mIoU stuff | '
        'train s/epoch (median) | note |',
        '| --- | --- | --- | --- | --- | --- | --- |'
    ]
    for row in rows:
        m = row['metrics']
        times = sorted(row['epoch_times'])
        per_epoch = f'{times[len(times) // 2]:.0f}' if times else '-'
        note = row['note']
        if times:
            note += '; epochs: ' + ', '.join(
                f'{t:.0f}' for t in row['epoch_times']) + ' s'
        lines.append(
            f"| {row['name']} | {m['mIoU']:.2f} | {m['aAcc']:.2f} | "
            f"{m.get('mIoU_thing', float('nan')):.2f} | "
            f"{m.get('mIoU_stuff', float('nan')):.2f} | {per_epoch} | "
            f'{note} |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    os.environ.setdefault('DENSESIAM_SHARED_DATA',
                          osp.join(REPO_ROOT, '..', 'shared', 'data'))
    os.makedirs(args.work_dir, exist_ok=True)
    work_dir = osp.abspath(args.work_dir)
    init_ckpt = save_shared_init(work_dir, args.seed)
    rows = []
    cfg = load_cfg('DenseSiam-Seg', work_dir, init_ckpt, args.epochs,
                   args.seed, args.frames)
    cfg.work_dir += '_untrained'
    cfg.visualizer.name += '_untrained'
    rows.append(evaluate_untrained('random init (untrained)', cfg))
    cfg = load_cfg('PiCIE', work_dir, init_ckpt, args.epochs, args.seed,
                   args.frames)
    cfg.work_dir += '_untrained'
    cfg.visualizer.name += '_untrained'
    rows.append(
        evaluate_untrained('random init + k-means', cfg, cluster_first=True))
    for name in ('DenseSiam-Seg', 'PiCIE'):
        cfg = load_cfg(name, work_dir, init_ckpt, args.epochs, args.seed,
                       args.frames)
        rows.append(train_and_evaluate(name, copy.deepcopy(cfg)))
    text = table(rows)
    train_frames, val_frames = args.frames or ('all 367', 'all 101')
    print(f'\nCamVid val ({val_frames} frames, 11 classes, Hungarian '
          f'matching); {args.epochs} epochs of {train_frames} train frames, '
          f'seed {args.seed}\n')
    print(text)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
