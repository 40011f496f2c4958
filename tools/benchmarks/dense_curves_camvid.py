# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam vs DenseSiam (λ2 = 0) vs SimSiam vs DenseCL on CamVid, as
curves of frozen dense-probe mIoU against pre-training iterations.

    OMP_NUM_THREADS=2 nice -n 5 \\
        python tools/benchmarks/dense_curves_camvid.py \\
        [--work-dir work_dirs/dense_curves_camvid] [--iters 1500] \\
        [--interval 150] [--seeds 0 1] [--methods ...] \\
        [--phases pretrain curve final report] [--no-amp]

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
4. **Report**: ``curves.png`` (mean and band over pre-training seeds),
   ``results.md`` / ``results.json``.

Every step whose result file exists is skipped. Data root:
``$DENSESIAM_SHARED_DATA`` (default ``../shared/data``). The split lists
are built from the file names of the shared data (``<drive>_<frame>``),
written under the work dir, never copied into the repository.
"""
import argparse
import glob
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time

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
SLUGS = {
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
    """Run ``cmd`` in the repo root, appending to ``log_file``; fail loudly.
    Returns wall and CPU (user + system of the child) seconds."""
    start = time.time()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_start = usage.ru_utime + usage.ru_stime
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'a') as f:
        f.write(f'\n$ {" ".join(cmd)}\n')
        f.flush()
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = f.read()[-3000:]
        sys.exit(f'failed ({proc.returncode}): {" ".join(cmd)}\n'
                 f'see {log_file}:\n{tail}')
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.time() - start, usage.ru_utime + usage.ru_stime - cpu_start


def run_dir(work_dir, name, seed):
    return osp.join(work_dir, 'pretrain', f'{SLUGS[name]}-seed{seed}')


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


def pretrain(name, seed, args, splits):
    """Pre-train (or resume) one run; returns its timing record."""
    out_dir = run_dir(args.work_dir, name, seed)
    final = osp.join(out_dir, f'iter_{args.iters}.pth')
    timing_file = osp.join(out_dir, 'wall_time.json')
    timing = read_json(timing_file,
                       dict(seconds=0., cpu_seconds=0., segments=0))
    if osp.isfile(final):
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
        'default_hooks.logger.interval=50'
    ]
    print(
        f'[{time.strftime("%H:%M:%S")}] {name} seed {seed}: pre-training '
        f'{n} iterations ({"resumed" if "--resume" in cmd else "new"})',
        flush=True)
    seconds, cpu_seconds = run(cmd, out_dir + '.log')
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/dense_curves_camvid')
    parser.add_argument('--iters', type=int, default=1500)
    parser.add_argument('--interval', type=int, default=150)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument(
        '--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
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
    args.work_dir = osp.abspath(args.work_dir)
    return args


def main(argv=None):
    args = parse_args(argv)
    splits = make_splits(args.work_dir)
    write_json(
        osp.join(args.work_dir, 'settings.json'),
        dict(
            vars(args),
            pretrain_frames=len(splits['pretrain_stems']),
            heldout_frames=len(splits['heldout'])))
    if 'pretrain' in args.phases:
        # seed-major: every method's first seed before any second seed
        for seed in args.seeds:
            for name in args.methods:
                pretrain(name, seed, args, splits)


if __name__ == '__main__':
    main()
