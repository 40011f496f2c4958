# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Frozen dense probes of a backbone: linear probe and clustering probe.

    python tools/analysis/dense_probe.py CKPT [--data camvid] \\
        [--probe linear|kmeans|both] [--stages 3 | 1 2 3] [--seeds 0 1 2] \\
        [--over-clustering 3] [--work-dir DIR] [--out result.json] \\
        [--config CFG] [--cfg-options key=value ...]

``CKPT`` is any file holding a backbone: this project's DenseSiam / SimSiam
checkpoints (``backbone.*`` keys), a backbone extracted by
``tools/model_converters/extract_backbone_weights.py``, an mmpretrain /
mmseg model-zoo file, or a torchvision ResNet state dict; ``random`` probes
a randomly initialised backbone (seed 0, the same for every probe seed).
A ResNet's depth is read from the weights. The file is refused, with a
message naming it, when it is not a torch file, holds no backbone weights,
or holds another architecture.

- **linear** (``--probe linear``): the mmseg config of ``--data`` (default
  ``configs/benchmarks/dense_probe/camvid/linear-probe_resnet18-c5_1xb16-200i_camvid-320x240.py``)
  under mmengine's Runner, once per seed: frozen backbone, features of each
  frame computed once (progress bar) and cached for all seeds, BN + 1x1
  classifier, mIoU of the val split by mmseg's ``IoUMetric``;
- **kmeans**: spherical k-means of the val frames' frozen features with
  ``k`` = number of classes (Hungarian matching) and, with
  ``--over-clustering M``, ``k = M x classes`` (majority matching), once
  per seed, scored by ``HungarianIoUMetric``. No label is used to fit.

Prints one line and writes the JSON (``--out``, default
``WORK_DIR/dense_probe.json``), atomically; it names the checkpoint that
produced it (path and sha256 of the file) and the probe options.

The default ``WORK_DIR`` is unique per checkpoint content:
``work_dirs/dense_probe/<file stem>-<sha256 of the file, 8 hex digits>``
(``random-<digest of the backbone config>`` for ``random``), so two
``iter_300.pth`` of different runs never share it. The probe holds a lock
on its work dir for the whole run: a second probe in the same work dir
stops at once with a message naming it. ``--out`` may not be the
checkpoint (or a link to it).

Options are checked before any work: ``--iters`` >= 1, distinct
``--seeds``, ``--stages`` among the backbone's outputs (0..3 for a ResNet),
``--over-clustering`` 0 (off) or >= 2. Label maps with class ids outside
the classes (other than the ignore index), of another size than their
image, or with more than one channel are refused, naming the file
(``LoadCheckedSegAnnotations`` in both probes' pipelines).
"""
import argparse
import copy
import hashlib
import json
import math
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import densesiam_mm  # noqa: F401  (registers the probes)
from densesiam_mm.apis import (WorkDirBusyError, build_runner, lock_work_dir,
                               registry_hints)
from densesiam_mm.apis.tool_io import check_distinct
from densesiam_mm.checkpoint import (CheckpointFileError, read_model_weights,
                                     refuse_to_overwrite_inputs,
                                     save_text_atomically,
                                     torch_save_atomically)
from densesiam_mm.evaluation import ClusteringProbe
from densesiam_mm.models.probes import (DenseFeatureCache, backbone_state_dict,
                                        load_backbone_weights, resnet_depth,
                                        resnet_stage_channels)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA_CONFIGS = {
    'camvid':
    'configs/benchmarks/dense_probe/camvid/'
    'linear-probe_resnet18-c5_1xb16-200i_camvid-320x240.py',
}

#: backbone outputs a ResNet gives (``out_indices=(0, 1, 2, 3)``)
STAGES = (0, 1, 2, 3)


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer >= 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'must be >= 1 (iterations to train the linear probe), got '
            f'{value}; leave the option out for the config\'s '
            'schedule')
    return value


def over_clustering_factor(text):
    """argparse type: 0 (off) or an integer >= 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer, got {text!r}') from None
    if value != 0 and value < 2:
        raise argparse.ArgumentTypeError(
            f'must be 0 (off) or an integer >= 2 (k = that many times '
            f'the classes), got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Frozen linear and clustering probes of a backbone.')
    parser.add_argument(
        'checkpoint',
        help="checkpoint holding the backbone, or 'random' for a random one")
    parser.add_argument(
        '--data', choices=sorted(DATA_CONFIGS), default='camvid')
    parser.add_argument('--config', help='probe config (overrides --data)')
    parser.add_argument(
        '--probe', choices=['linear', 'kmeans', 'both'], default='both')
    parser.add_argument(
        '--stages',
        type=int,
        nargs='+',
        choices=STAGES,
        metavar='STAGE',
        help='backbone outputs to probe (0..3), e.g. 3 (C5) or 1 2 3 '
        '(C3-C5 concatenated at stride 8); default: the config\'s')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0, 1, 2],
        help='probe seeds, distinct')
    parser.add_argument(
        '--iters',
        type=positive_int,
        help='linear probe iterations, >= 1 (default: the config\'s)')
    parser.add_argument(
        '--over-clustering',
        type=over_clustering_factor,
        default=3,
        help='also k-means with this multiple (>= 2) of the classes '
        '(0: off)')
    parser.add_argument(
        '--work-dir',
        help='default: work_dirs/dense_probe/<checkpoint file stem>-'
        '<first 8 hex digits of its sha256>')
    parser.add_argument(
        '--out', help='result JSON file (default: WORK_DIR/dense_probe.json)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override probe config settings')
    args = parser.parse_args(argv)
    check_distinct(parser, args.seeds, '--seeds')
    if args.stages:
        check_distinct(parser, args.stages, '--stages')
    return args


def file_sha256(filename):
    """sha256 (hex) of the bytes of ``filename``.

    Raises:
        CheckpointFileError: the file does not exist or cannot be read.
    """
    if not osp.isfile(filename):
        raise CheckpointFileError(f'checkpoint file {filename} does not '
                                  'exist.')
    sha = hashlib.sha256()
    try:
        with open(filename, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                sha.update(block)
    except OSError as err:
        raise CheckpointFileError(
            f'cannot read checkpoint file {filename}: {err}') from err
    return sha.hexdigest()


def checkpoint_identity(checkpoint, cfg):
    """``(name, sha256)`` identifying what is probed: the file stem and the
    sha256 of its bytes, or ``'random'`` and the sha256 of the backbone
    config that builds the random backbone (seed 0)."""
    if checkpoint == 'random':
        backbone = json.dumps(
            cfg.model.backbone.to_dict(), sort_keys=True, default=str)
        return 'random', hashlib.sha256(backbone.encode()).hexdigest()
    name = osp.splitext(osp.basename(checkpoint))[0]
    return name, file_sha256(checkpoint)


def configure_backbone(cfg, weights):
    """Fit a ResNet backbone config (depth, head channels) to ``weights``."""
    backbone = cfg.model.backbone
    if backbone.get('type') != 'ResNet' or weights is None:
        return
    depth = resnet_depth(weights)
    if depth is None or depth == backbone.depth:
        return
    backbone.depth = depth
    channels = resnet_stage_channels(depth)
    head = cfg.model.decode_head
    head.in_channels = [channels[i] for i in head.in_index] \
        if isinstance(head.in_index, (list, tuple)) else channels[
            head.in_index]


def set_stages(cfg, stages):
    head = cfg.model.decode_head
    depth = cfg.model.backbone.get('depth', 18)
    channels = resnet_stage_channels(depth)
    if len(stages) == 1:
        head.in_index, head.in_channels = stages[0], channels[stages[0]]
    else:
        head.in_index = list(stages)
        head.in_channels = [channels[i] for i in stages]


def prepare_backbone(cfg, checkpoint, work_dir):
    """Write the backbone weights to ``work_dir/backbone.pth`` (strictly
    checked against the probed backbone) and point the config at them."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    weights = None
    if checkpoint != 'random':
        weights = backbone_state_dict(read_model_weights(checkpoint))
        configure_backbone(cfg, weights)
    backbone_cfg = copy.deepcopy(cfg.model.backbone)
    backbone_cfg.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)  # the 'random' backbone: seed 0
        backbone = MODELS.build(backbone_cfg)
        backbone.init_weights()
    if checkpoint != 'random':
        load_backbone_weights(backbone, checkpoint)
    out = osp.join(work_dir, 'backbone.pth')
    torch_save_atomically(
        dict(state_dict=backbone.state_dict(), meta=dict(source=checkpoint)),
        out)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=out)
    return out


def mean_std(values):
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean)**2 for v in values) /
                    (len(values) - 1)) if len(values) > 1 else float('nan')
    return mean, std


def summarise(entry):
    entry['mIoU_mean'], entry['mIoU_std'] = mean_std(entry['mIoU'])
    return entry


def linear_probe(cfg, seeds, work_dir):
    """Train and validate the linear probe once per seed."""
    entry = dict(seeds=[], mIoU=[], aAcc=[], mAcc=[], seconds=[])
    runner = None
    for seed in seeds:
        seed_cfg = copy.deepcopy(cfg)
        seed_cfg.randomness = dict(seed=seed)
        seed_cfg.work_dir = osp.join(work_dir, 'linear', f'seed{seed}')
        max_iters = seed_cfg.train_cfg.max_iters
        seed_cfg.train_cfg.val_interval = max_iters + 1  # validate below
        seed_cfg.default_hooks.checkpoint = None  # the head is the result
        start = time.time()
        runner = build_runner(seed_cfg)
        runner.train()
        metrics = runner.val()
        entry['seconds'].append(round(time.time() - start, 1))
        entry['seeds'].append(seed)
        for name in ('mIoU', 'aAcc', 'mAcc'):
            entry[name].append(float(metrics[name]))
        print(
            f'linear probe seed {seed}: mIoU {metrics["mIoU"]:.2f} '
            f'({entry["seconds"][-1]:.0f} s)',
            flush=True)
    return summarise(entry), runner


def kmeans_probe(cfg, seeds, over_clustering, runner, work_dir):
    """Cluster the val split's frozen features, once per seed and k."""
    if runner is None:  # no linear probe ran: a model and loader of our own
        cfg = copy.deepcopy(cfg)
        cfg.work_dir = osp.join(work_dir, 'kmeans')
        runner = build_runner(cfg, 'val_dataloader')
        runner.model.init_weights()
    model = runner.model
    dataloader = Runner.build_dataloader(cfg.val_dataloader, seed=seeds[0])
    probe = ClusteringProbe(
        over_clustering=over_clustering or None, seeds=seeds)
    start = time.time()
    scores = probe.evaluate(model, dataloader)
    seconds = round(time.time() - start, 1)
    results = {}
    for name, entry in scores.items():
        entry['seconds'] = seconds
        key = 'kmeans' if entry['matching'] == 'hungarian' else \
            'kmeans_over'
        results[key] = summarise(entry)
    return results


def one_line(name, result):
    parts = [f'{name}:']
    if 'linear' in result:
        e = result['linear']
        parts.append(f'linear mIoU {e["mIoU_mean"]:.2f} ± '
                     f'{e["mIoU_std"]:.2f}')
    for key in ('kmeans', 'kmeans_over'):
        if key in result:
            e = result[key]
            parts.append(f'k-means k={e["k"]} ({e["matching"]}) mIoU '
                         f'{e["mIoU_mean"]:.2f} ± {e["mIoU_std"]:.2f}')
    return ' | '.join(parts) + f' ({len(result["seeds"])} seeds, ' \
        f'{result["stages"]}, {result["backbone"]})'


def main(argv=None):
    args = parse_args(argv)
    config = args.config or osp.join(REPO_ROOT, DATA_CONFIGS[args.data])
    cfg = Config.fromfile(config)
    cfg.launcher = 'none'
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        cfg.param_scheduler[0].end = args.iters
    check_label_maps(cfg)
    try:
        name, sha256 = checkpoint_identity(args.checkpoint, cfg)
    except CheckpointFileError as err:
        sys.exit(f'error: {err}')
    work_dir = osp.abspath(
        args.work_dir
        or osp.join('work_dirs', 'dense_probe', f'{name}-{sha256[:8]}'))
    out = osp.abspath(args.out or osp.join(work_dir, 'dense_probe.json'))
    try:
        refuse_to_overwrite_inputs(
            out,
            [args.checkpoint if args.checkpoint != 'random' else None, config],
            '--out')
    except ValueError as err:
        sys.exit(f'error: {err}')
    try:
        with lock_work_dir(work_dir, 'dense probe'):
            result = run_probes(args, cfg, config, work_dir, sha256)
            save_text_atomically(out, json.dumps(result, indent=2) + '\n')
    except (WorkDirBusyError, CheckpointFileError) as err:
        sys.exit(f'error: {err}')
    print(one_line(name, result), flush=True)
    print(f'written {out}')
    return result


def check_label_maps(cfg):
    """Load labels with :class:`LoadCheckedSegAnnotations` in the probes'
    pipelines (class ids, size and channels checked, naming the file)."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg.get(loader, {}).get('dataset', {})
        for transform in dataset.get('pipeline', []):
            if transform.get('type') in ('LoadAnnotations',
                                         'mmseg.LoadAnnotations'):
                transform['type'] = 'LoadCheckedSegAnnotations'


def run_probes(args, cfg, config, work_dir, sha256):
    """The probes asked for, in ``work_dir``; the result dict."""
    prepare_backbone(cfg, args.checkpoint, work_dir)
    if args.stages:
        set_stages(cfg, args.stages)
    head = cfg.model.decode_head
    result = dict(
        checkpoint=args.checkpoint,
        checkpoint_file=dict(
            path=args.checkpoint
            if args.checkpoint == 'random' else osp.abspath(args.checkpoint),
            sha256=sha256,
            sha256_of='backbone config'
            if args.checkpoint == 'random' else 'file bytes'),
        options=dict(
            data=args.data,
            probe=args.probe,
            stages=args.stages,
            seeds=args.seeds,
            iters=cfg.train_cfg.max_iters,
            over_clustering=args.over_clustering,
            cfg_options=args.cfg_options or {},
            work_dir=work_dir),
        config=osp.relpath(config, REPO_ROOT),
        backbone=f'{cfg.model.backbone.type}-'
        f'{cfg.model.backbone.get("depth", "")}'.rstrip('-'),
        stages=f'stages {head.in_index}',
        seeds=args.seeds)
    start = time.time()
    with registry_hints():
        runner = None
        if args.probe in ('linear', 'both'):
            result['linear'], runner = linear_probe(cfg, args.seeds, work_dir)
        if args.probe in ('kmeans', 'both'):
            result.update(
                kmeans_probe(cfg, args.seeds, args.over_clustering, runner,
                             work_dir))
    caches = list(DenseFeatureCache._by_weights.values())
    if caches:
        result['feature_cache'] = dict(
            images=sum(len(c) for c in caches),
            MiB=round(sum(c.nbytes() for c in caches) / 2**20, 1))
    result['seconds'] = round(time.time() - start, 1)
    return result


if __name__ == '__main__':
    main()
