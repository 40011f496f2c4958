# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Unsupervised segmentation on CamVid: which choices matter.

    OMP_NUM_THREADS=1 nice -n 10 python tools/benchmarks/unsup_seg_camvid.py \
        --work-dir work_dirs/unsup_seg_camvid --epochs 2 --seeds 0 1 2 \
        [--inits random pretrained --pretrained PRETRAIN.pth] [--rows ...] \
        [--results-dir RESULTS_DIR]

Every row trains with the same data (the 367 CamVid train frames, labels
unused), epochs, batch and initialisation, and is evaluated on the val
split (Hungarian matching, 11 classes) after every ``--val-interval``
epochs (default 1) and at the end. Rows (``--rows``, default all):

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
frames; the script waits for the file if it is still being trained). Each
run records the tensor checksum of the files it started from, and a rerun
warns when a finished run of the same init and seed started from other
weights (e.g. a pre-training redone in a later session).

Outputs. The large files (checkpoints, logs) go to ``WORK_DIR/RUN``; the
small ones to ``--results-dir`` (default
``docs/benchmarks/unsup_seg_camvid_long`` in the repository, so that they
outlive the work dir): ``runs/RUN.json`` per finished run (its settings,
final val metrics, the val metrics of every validated epoch, the wall and
CPU time of every training epoch - from before the clustering hook to the
end of the epoch, so PiCIE's clustering is included - and the wall time
of every validation), ``results.md`` (the table, mean +- std over seeds),
``results.png`` (bar chart of the final mIoU) and ``miou_per_epoch.png``
(mIoU vs epoch, one panel per init, one line per row: mean over seeds and
min-max band; k-means as a dashed level).

Resumable at two levels: a rerun skips the runs whose JSON is in the
results dir (and refuses, naming the file, to mix runs of other settings:
epochs, view size, frames, train stride, val interval); a run that was
interrupted continues from its last epoch checkpoint in ``WORK_DIR/RUN``
(mmengine's ``resume``, through :func:`densesiam_mm.apis.build_runner`),
keeping the per-epoch record it had written there (``progress.json``);
without its work dir (a new session), the run starts over. One process at
a time holds ``WORK_DIR``.

Issue 21, item 4 (>= 10x the last budget: all 367 frames, 96 px views,
20 epochs, 3 seeds; ``dss-official-lr0.05`` is the authors' recipe at the
lr that trains at batch 8). The pre-trained initialisation is DenseSiam's
1,500-iteration CamVid pre-training of ``docs/dense_probe.md`` section 5,
seed 1 (fp32): with DenseSiam (λ2 = 0), the best held-out dense probes
there, and the method whose segmentation variant is being trained. Seed 1
because its checkpoint was still in the work dir when the table started
(seed 0's had gone with an earlier checkout). The checkpoint is not kept
in the repository; a new checkout trains it again first (about 35 min fp32
on 2 cores; CPU runs are not bit-reproducible, so the script then warns
that finished runs started from other weights). Then the table,
resumable::

    export OMP_NUM_THREADS=2 DENSESIAM_SHARED_DATA=../shared/data
    INIT=work_dirs/issue21_init
    nice -n 5 python tools/benchmarks/dense_curves_camvid.py --no-amp \
        --methods DenseSiam --seeds 1 --phases pretrain \
        --work-dir $INIT --results-dir $INIT/results
    nice -n 5 python tools/benchmarks/unsup_seg_camvid.py \
        --work-dir work_dirs/issue21_unsup_seg --epochs 20 --view-size 96 \
        --seeds 0 1 2 --inits pretrained random \
        --pretrained $INIT/pretrain/densesiam-seed1/iter_1500.pth \
        --rows kmeans dss-official dss-official-lr0.05 dss-variant \
            picie-official picie-variant
    # table and PNGs of the runs finished so far
    ... the same command ... --report-only

``--amp`` (bf16 + channels-last) only where every run of the table can
have it: the precision is a run setting, and a run of another precision
in the results dir is refused. Item 4's table runs in fp32: it spans
sessions, and some of this project's machines have no native bf16.

Cost, measured on item 4's runs (fp32, ``OMP_NUM_THREADS=2``, two idle
cores of an AMD EPYC Zen 4, session 7-8): a 20-epoch run of all 367
frames at 96 px takes 9-12 min for DenseSiam-Seg, 16-18.5 min for the
authors' PiCIE (its clustering of every pixel included), 7.5-9.5 min for
the PiCIE variant and under a minute for ``kmeans``; one seed of the six
rows above about 63 min, so 2 inits x 3 seeds about 6 h. Runs go init by
init, seed by seed, every row of a seed before the next seed; to have the
most informative rows at three seeds first, run them alone (``--rows``),
then the others with the same command.

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
import sys
import time

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

import densesiam_mm  # noqa: F401
from densesiam_mm.apis import (WorkDirBusyError, build_runner, lock_work_dir,
                               use_amp)
from densesiam_mm.apis.tool_io import check_distinct, format_mean_std
from densesiam_mm.checkpoint import (load_checkpoint_file,
                                     save_text_atomically, tensor_checksum)
from densesiam_mm.engine.hooks import KMeansClusteringHook

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RESULTS_DIR = osp.join(REPO_ROOT, 'docs', 'benchmarks',
                       'unsup_seg_camvid_long')
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
#: the options a finished run must share with the current command to be
#: reused (``--epochs`` ... as :func:`run_settings` writes them)
SETTINGS = ('epochs', 'view_size', 'frames', 'train_stride', 'val_interval',
            'precision')
#: the value of a setting in the records written before it existed
SETTING_DEFAULTS = dict(precision='fp32')


class EpochRecordHook(Hook):
    """Per-epoch record of one training run, kept on disk for resuming.

    The record holds the wall and CPU (this process) time of each training
    epoch (``epoch_times``, ``epoch_cpu_times``; clustering included) and,
    for each validation, its epoch (``val_epochs``), the metrics the
    evaluator returned (``val_metrics``) and its wall time (``val_times``).
    It is written to ``path`` (JSON, atomically) after every training epoch
    and every validation.

    A run resumed from its epoch-``n`` checkpoint reads the record back
    (the first ``n`` epochs; when ``settings`` match) and, if the
    interruption lost the validation of epoch ``n``, runs it before
    training continues.

    Args:
        path (str): the JSON file, in the run's work dir.
        settings (dict): the run's settings, stored with the record; a
            record of other settings is never resumed.
    """
    priority = 'VERY_HIGH'  # before clustering, before checkpointing

    def __init__(self, path, settings):
        self.path = path
        self.settings = settings
        self.record = self.empty_record()
        self.resumed_from = 0
        self._validate_first = False

    def empty_record(self):
        return dict(
            settings=self.settings,
            epoch_times=[],
            epoch_cpu_times=[],
            val_epochs=[],
            val_metrics=[],
            val_times=[])

    def saved_record(self):
        """The record at ``path`` when it has this run's settings, else
        None."""
        if not osp.isfile(self.path):
            return None
        with open(self.path) as f:
            record = json.load(f)
        return record if record.get('settings') == self.settings else None

    def save(self):
        save_text_atomically(self.path, json.dumps(self.record, indent=1))

    def before_train(self, runner):
        # after Runner.load_or_resume(): runner.epoch epochs are done
        done = self.resumed_from = runner.epoch
        record = self.saved_record() if done else None
        if record is None:
            self.record = self.empty_record()
            return
        for key in ('epoch_times', 'epoch_cpu_times'):
            record[key] = record[key][:done]
        kept = [i for i, e in enumerate(record['val_epochs']) if e <= done]
        for key in ('val_epochs', 'val_metrics', 'val_times'):
            record[key] = [record[key][i] for i in kept]
        self.record = record
        interval = getattr(runner.train_loop, 'val_interval', 0)
        self._validate_first = (
            runner.val_loop is not None and done % interval == 0
            and done not in record['val_epochs'])

    def before_train_epoch(self, runner):
        if self._validate_first:  # the validation the interruption lost
            self._validate_first = False
            runner.val_loop.run()
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def after_train_epoch(self, runner):
        self.record['epoch_times'].append(time.perf_counter() - self._start)
        self.record['epoch_cpu_times'].append(time.process_time() -
                                              self._cpu_start)
        self.save()

    def before_val_epoch(self, runner):
        self._val_start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None):
        self.record['val_epochs'].append(runner.epoch)
        self.record['val_metrics'].append({
            k: float(v)
            for k, v in (metrics or {}).items()
        })
        self.record['val_times'].append(time.perf_counter() - self._val_start)
        self.save()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/unsup_seg_camvid')
    parser.add_argument(
        '--results-dir',
        default=RESULTS_DIR,
        help='where the small results go (one JSON per finished run, '
        'results.md, PNGs); finished runs there are skipped (default: '
        'docs/benchmarks/unsup_seg_camvid_long in the repository)')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument(
        '--val-interval',
        type=int,
        default=1,
        help='evaluate on the val split every N epochs (and after the '
        'last); 0: after the last epoch only')
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
        help='write the table and plots of the runs done')
    parser.add_argument(
        '--view-size',
        type=int,
        default=None,
        help='override the view size of every row')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='train in mixed precision with channels-last (tools/train.py '
        '--amp --channels-last): bf16 autocast on a CPU with native bf16, '
        'fp16 on CUDA, fp32 elsewhere; recorded with each run, and runs of '
        'another precision are not mixed into the table')
    args = parser.parse_args(argv)
    check_distinct(parser, args.seeds, '--seeds')
    if args.val_interval < 0:
        parser.error('--val-interval must be >= 0')
    return args


def run_precision(args):
    """What the training runs of this command compute in, in words."""
    if not args.amp:
        return 'fp32'
    return use_amp(
        Config(dict(optim_wrapper=dict(type='OptimWrapper'))),
        channels_last=True)


def run_settings(args):
    """The options that make runs comparable (:data:`SETTINGS`)."""
    return dict(
        epochs=args.epochs,
        view_size=args.view_size,
        frames=list(args.frames) if args.frames else None,
        train_stride=args.train_stride,
        val_interval=args.val_interval,
        precision=run_precision(args))


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
    nested = 'NestedCropViews' in str(cfg.train_dataloader.dataset.pipeline)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        for step in loader.dataset.pipeline:
            if step['type'] == 'ResizeShortestEdge':
                step['scale'] = size if nested else int(size * 1.25)


def load_cfg(row, work_dir, init, seed, args):
    label, base, overrides, drop_region_hook = ROWS[row]
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[base]))
    run = f'{row}_{init}_seed{seed}'
    cfg.work_dir = osp.join(work_dir, run)
    cfg.visualizer.name = f'visualizer_{run}'  # one per Runner
    cfg.randomness = dict(seed=seed)
    cfg.launcher = 'none'  # one process
    cfg.train_cfg.max_epochs = args.epochs
    if args.val_interval:
        cfg.train_cfg.val_interval = args.val_interval
    else:  # evaluated once, by runner.test()
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    # a checkpoint every epoch (the last one kept) to resume from
    cfg.default_hooks.checkpoint.update(
        interval=1, max_keep_ckpts=1, save_best=None)
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
        for loader in ('val_dataloader', 'test_dataloader'):
            if cfg.get(loader):
                cfg[loader].dataset.indices = args.frames[1]
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.get('replay_seed') is not None:
            step['replay_seed'] = seed  # each seed its own fixed views
    if args.train_stride > 1:
        cfg.train_dataloader.dataset.indices = list(
            range(0, 367, args.train_stride))
    if args.view_size is not None:
        _set_view_size(cfg, args.view_size)
    if args.amp:
        use_amp(cfg, channels_last=True)
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


def init_checksums(init, work_dir, seed, pretrained=None):
    """Tensor checksums of the files a run of ``init`` starts from."""
    files = dict(init_seed=osp.join(work_dir, f'init_seed{seed}.pth'))
    if init == 'pretrained':
        files['pretrained'] = pretrained
    return {
        name: tensor_checksum(load_checkpoint_file(path, map_location='cpu'))
        for name, path in files.items()
    }


def run_once(row, cfg, settings):
    """Train (or, for ``kmeans``, cluster once) and evaluate one run.

    A training run validates as ``cfg.train_cfg.val_interval`` says (the
    metrics of each validation are kept by :class:`EpochRecordHook`) and
    resumes from the last checkpoint in ``cfg.work_dir`` when the record
    there has the same ``settings``.

    Returns:
        dict: the run record: ``metrics`` (the val metrics after the last
        epoch: its validation, or ``runner.test()`` when the last epoch was
        not validated), ``val_epochs`` and ``epoch_mIoU`` (every validated
        epoch, the last one included; epoch 0 for ``kmeans``), the record of
        :class:`EpochRecordHook`, ``resumed_from`` (the epoch the run
        continued from, 0 for a fresh start) and the frame counts.
    """
    recorder = EpochRecordHook(
        osp.join(cfg.work_dir, 'progress.json'), settings)
    cfg.resume = row != 'kmeans' and recorder.saved_record() is not None
    runner = build_runner(cfg)
    if row == 'kmeans':
        runner.model.init_weights()
        hook = next(
            h for h in runner.hooks if isinstance(h, KMeansClusteringHook))
        cpu_start = time.process_time()
        hook.cluster(runner)  # the config's clustering step
        record = recorder.empty_record()
        record.update(
            epoch_times=[hook.last_time],
            epoch_cpu_times=[time.process_time() - cpu_start])
        resumed_from, last_epoch = 0, 0
    else:
        runner.register_hook(recorder)
        runner.train()
        record = recorder.record
        resumed_from, last_epoch = recorder.resumed_from, runner.epoch
    if record['val_epochs'] and record['val_epochs'][-1] == last_epoch:
        metrics = record['val_metrics'][-1]
    else:  # kmeans (epoch 0), or the last epoch was not validated
        start = time.perf_counter()
        metrics = {k: float(v) for k, v in runner.test().items()}
        record['val_epochs'].append(last_epoch)
        record['val_metrics'].append(metrics)
        record['val_times'].append(time.perf_counter() - start)
    record.update(
        metrics=metrics,
        epoch_mIoU=[m['mIoU'] for m in record['val_metrics']],
        resumed_from=resumed_from,
        val_frames=len(runner.test_dataloader.dataset),
        train_frames=len(runner.train_dataloader.dataset))
    return record


def run_file(results_dir, key):
    return osp.join(results_dir, 'runs', f'{key}.json')


def load_runs(results_dir):
    """The finished runs in ``results_dir`` (``runs/*.json``), by name."""
    folder = osp.join(results_dir, 'runs')
    runs = {}
    for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        if name.endswith('.json'):
            with open(osp.join(folder, name)) as f:
                runs[name[:-len('.json')]] = json.load(f)
    return runs


def check_settings(runs, keys, settings, results_dir):
    """Refuse to mix finished runs of other settings into this command's
    table: raises ``ValueError`` naming the file and each difference."""
    for key in keys:
        saved = runs[key].get('settings', {}) if key in runs else settings
        saved = dict(SETTING_DEFAULTS, **saved)
        differences = [
            f'{name} {saved.get(name)!r} (now {settings[name]!r})'
            for name in SETTINGS if saved.get(name) != settings[name]
        ]
        if differences:
            raise ValueError(
                f'{run_file(results_dir, key)} was run with other settings: '
                f'{", ".join(differences)}. Use another --results-dir (or '
                'the options of that run).')


def _median(values):
    values = sorted(values)
    return f'{values[len(values) // 2]:.0f}' if values else '-'


def _finished(runs, row, init, seeds):
    """The finished runs of ``row`` and ``init``, in seed order."""
    keys = (f'{row}_{init}_seed{seed}' for seed in seeds)
    return [runs[key] for key in keys if key in runs]


def table(runs, rows, inits, seeds):
    """Markdown table: final mIoU and pixel accuracy (mean +- std over
    seeds) and the median wall / CPU time of a training epoch and of a
    validation."""
    lines = [
        '| init | method | mIoU | pixel acc. | seeds | '
        'wall s/epoch (median) | CPU s/epoch (median) | '
        'wall s/validation (median) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for init in inits:
        for row in rows:
            done = _finished(runs, row, init, seeds)
            if not done:
                continue
            per_epoch = [
                _median([t for run in done for t in run.get(key, [])])
                for key in ('epoch_times', 'epoch_cpu_times')
            ]
            if row == 'kmeans':
                per_epoch = [f'{t} (clustering once)' for t in per_epoch]
            val_time = _median([t for run in done for t in run['val_times']])
            lines.append(
                f'| {init} | {ROWS[row][0]} | '
                f"{format_mean_std([r['metrics']['mIoU'] for r in done])} | "
                f"{format_mean_std([r['metrics']['aAcc'] for r in done])} | "
                f'{len(done)} | {per_epoch[0]} | {per_epoch[1]} | '
                f'{val_time} |')
    return '\n'.join(lines)


def wait_for(path, poll=30):
    while not osp.isfile(path):
        print(f'waiting for {path} ...', flush=True)
        time.sleep(poll)


def run_all(args, work_dir, results_dir, runs):
    """Run every (init, seed, row) not in ``runs`` yet; each finished run
    goes to ``results_dir/runs/RUN.json`` at once."""
    settings = run_settings(args)
    for init in args.inits:
        if init == 'pretrained':
            wait_for(args.pretrained)
        for seed in args.seeds:
            save_shared_init(work_dir, seed)
            checksums = init_checksums(init, work_dir, seed, args.pretrained)
            for row in args.rows:
                key = f'{row}_{init}_seed{seed}'
                if key in runs:
                    if runs[key].get('init_checksums', checksums) != checksums:
                        print(
                            f'warning: {run_file(results_dir, key)} started '
                            'from other initial weights than this command '
                            'would use now',
                            flush=True)
                    continue
                cfg, _ = load_cfg(row, work_dir, init, seed, args)
                start = time.perf_counter()
                result = run_once(row, copy.deepcopy(cfg), settings)
                result.update(
                    total_s=time.perf_counter() - start,
                    init_checksums=checksums)
                runs[key] = result
                os.makedirs(osp.join(results_dir, 'runs'), exist_ok=True)
                save_text_atomically(
                    run_file(results_dir, key), json.dumps(result, indent=1))
                print(
                    f'{key}: mIoU {result["metrics"]["mIoU"]:.2f} (per '
                    f'epoch {[round(m, 1) for m in result["epoch_mIoU"]]}), '
                    f'epochs {[round(t) for t in result["epoch_times"]]} s'
                    f' (CPU {[round(t) for t in result["epoch_cpu_times"]]}'
                    f' s), total {result["total_s"]:.0f} s',
                    flush=True)


def report(runs, args, results_dir):
    """Print the table and write ``results.md``, ``results.png`` and
    ``miou_per_epoch.png`` to ``results_dir``."""
    val_frames = train_frames = None
    for run in runs.values():
        val_frames = run.get('val_frames', val_frames)
        train_frames = run.get('train_frames', train_frames)
    text = table(runs, args.rows, args.inits, args.seeds)
    view = f'{args.view_size} px views' if args.view_size else \
        "the configs' views"
    title = (f'CamVid val ({val_frames} frames, 11 classes, Hungarian '
             f'matching); {args.epochs} epochs of {train_frames} train '
             f'frames, {view}, seeds {args.seeds}, training in '
             f'{run_precision(args)}')
    print(f'\n{title}\n\n{text}')
    os.makedirs(results_dir, exist_ok=True)
    save_text_atomically(
        osp.join(results_dir, 'results.md'),
        f'{title}\n\n{text}\n\n![mIoU per row](results.png)\n\n'
        '![mIoU per epoch](miou_per_epoch.png)\n')
    plot(runs, args.rows, args.inits, args.seeds,
         osp.join(results_dir, 'results.png'))
    plot_curves(runs, args.rows, args.inits, args.seeds,
                osp.join(results_dir, 'miou_per_epoch.png'))


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot(runs, rows, inits, seeds, path):
    """Bar chart of mIoU (mean +- std over seeds) per row and init."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    height = 0.8 / len(inits)
    for i, init in enumerate(inits):
        means, stds = [], []
        for row in rows:
            values = [
                r['metrics']['mIoU']
                for r in _finished(runs, row, init, seeds)
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


def epoch_curve(done):
    """``(epochs, mean, min, max)`` of the mIoU over the runs ``done`` at
    the epochs every one of them validated."""
    epochs = sorted(set.intersection(*(set(r['val_epochs']) for r in done)))
    values = [[r['epoch_mIoU'][r['val_epochs'].index(epoch)] for r in done]
              for epoch in epochs]
    return (epochs, [statistics.fmean(v) for v in values],
            [min(v) for v in values], [max(v) for v in values])


def plot_curves(runs, rows, inits, seeds, path):
    """mIoU vs epoch: one panel per init with a finished run, one line per
    row (mean over its finished seeds, n in the legend, min-max band);
    ``kmeans`` (no training) as a dashed level."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    inits = [
        init for init in inits if any(
            _finished(runs, row, init, seeds) for row in rows)
    ] or inits[:1]
    fig, axes = plt.subplots(
        1,
        len(inits),
        figsize=(5 * len(inits), 4.2),
        sharey=True,
        squeeze=False)
    colors = plt.get_cmap('tab10').colors
    for ax, init in zip(axes[0], inits):
        for i, row in enumerate(rows):
            done = _finished(runs, row, init, seeds)
            if not done:
                continue
            color = colors[i % len(colors)]
            epochs, mean, low, high = epoch_curve(done)
            label = ROWS[row][0]
            if len(done) < len(seeds):
                label += f' ({len(done)} of {len(seeds)} seeds)'
            if row == 'kmeans':
                ax.axhline(mean[0], color=color, ls='--', label=label)
                ax.axhspan(low[0], high[0], color=color, alpha=0.12)
                continue
            ax.plot(epochs, mean, color=color, marker='o', ms=3, label=label)
            ax.fill_between(epochs, low, high, color=color, alpha=0.2)
        ax.set_title(f'{init} init', fontsize=10)
        ax.set_xlabel('epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('CamVid val mIoU (Hungarian)')
    legend = {}  # one entry per row, whichever panel has it
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.suptitle(
        f'mean over the finished runs of seeds {seeds} (band: min-max)',
        fontsize=9,
        y=0.99)
    fig.tight_layout()
    fig.legend(
        list(legend.values()),
        list(legend),
        loc='upper center',
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('DENSESIAM_SHARED_DATA',
                          osp.join(REPO_ROOT, '..', 'shared', 'data'))
    work_dir = osp.abspath(args.work_dir)
    results_dir = osp.abspath(args.results_dir)
    if 'pretrained' in args.inits and not args.pretrained:
        raise ValueError('--inits pretrained needs --pretrained CHECKPOINT')
    runs = load_runs(results_dir)
    check_settings(runs, [
        f'{row}_{init}_seed{seed}' for init in args.inits
        for seed in args.seeds for row in args.rows
    ], run_settings(args), results_dir)
    if not args.report_only:
        try:
            with lock_work_dir(work_dir, 'unsup_seg_camvid benchmark'):
                run_all(args, work_dir, results_dir, runs)
        except WorkDirBusyError as err:
            sys.exit(f'error: {err}')
    report(runs, args, results_dir)
    return runs


if __name__ == '__main__':
    main()
