# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Evaluate a checkpoint with an mmengine Runner (``test_dataloader``).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show-dir DIR] [--cfg-options key=value ...] [--launcher ...]

The checkpoint must hold every tensor of the model: a checkpoint of another
model (e.g. a pre-training one on a segmentation config) is an error that
lists the missing tensors, never a metric of random heads.

``--out`` is checked before the test (suffix ``.json``, ``.yaml``/``.yml``
or ``.pkl``/``.pickle``, a writable folder, not the config or the
checkpoint) and written atomically; if the write still fails, the metrics
are printed before the error. ``--show-dir DIR`` turns on the config's
``default_hooks.visualization`` (mmseg's ``SegVisualizationHook``) and saves
its painted predictions under ``DIR`` (``DIR/vis_data/vis_image/*.png``), as
mmseg's ``tools/test.py``, for every image unless the hook sets ``interval``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import warnings

# setuptools warns about mmengine's `import pkg_resources` on every run
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402

import densesiam_mm  # noqa: F401,E402
from densesiam_mm.apis import build_runner  # noqa: E402
from densesiam_mm.apis import registry_hints  # noqa: E402
from densesiam_mm.checkpoint import refuse_to_overwrite_inputs  # noqa: E402
from densesiam_mm.checkpoint import write_atomically  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test a densesiam_mm model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out',
        help='dump the metrics to this file (.json, .yaml/.yml, .pkl/.pickle)')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions here (DIR/vis_data/vis_image/*.png; '
        'needs default_hooks.visualization in the config)')
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
    if args.out:
        try:
            check_out(args.out, [args.config, args.checkpoint])
        except ValueError as err:
            parser.error(str(err))
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


# the formats of mmengine.fileio.dump, by suffix
OUT_FORMATS = {
    '.json': 'json',
    '.yaml': 'yaml',
    '.yml': 'yaml',
    '.pkl': 'pickle',
    '.pickle': 'pickle'
}


def check_out(out, inputs):
    """Refuse an ``--out`` path that could not be written, before the test:
    an unsupported suffix, a folder, an unwritable folder, or an input."""
    suffix = osp.splitext(out)[1].lower()
    if suffix not in OUT_FORMATS:
        raise ValueError(
            f'--out {out}: unsupported suffix {suffix!r}; the metrics are '
            'written as .json, .yaml/.yml or .pkl/.pickle (a checkpoint is '
            'not an output of this tool). Choose e.g. metrics.json.')
    if osp.isdir(out):
        raise ValueError(f'--out {out} is a folder; give a file path such '
                         f'as {osp.join(out, "metrics.json")}.')
    refuse_to_overwrite_inputs(out, inputs, option='--out')
    folder = osp.dirname(osp.abspath(out))
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.out-check-'):
            pass
    except OSError as err:
        raise ValueError(
            f'--out {out}: cannot write in {folder} ({err.strerror or err}); '
            'choose a writable folder.') from err


def save_metrics(metrics, out):
    """Write ``metrics`` to ``out`` atomically; on failure print them (as
    JSON) so that a finished test never loses its numbers."""
    from mmengine.fileio import dump

    def write(path):
        dump(
            metrics,
            path,
            file_format=OUT_FORMATS[osp.splitext(out)[1].lower()])

    try:
        write_atomically(out, write)
    except Exception as err:
        print(
            'metrics (not saved): ' + json.dumps(metrics, default=str),
            file=sys.stderr)
        raise SystemExit(f'error: --out {out}: the metrics above could not '
                         f'be written ({err}).') from err


def trigger_visualization_hook(cfg, show_dir):
    """Turn on the visualization hook and save its pictures in ``show_dir``,
    as mmseg's ``tools/test.py``: ``draw=True`` on
    ``default_hooks.visualization`` and ``visualizer.save_dir``; every
    image unless the config sets the hook's ``interval``."""
    vis = cfg.get('default_hooks', {}).get('visualization')
    if vis is None:
        raise SystemExit(
            f'error: --show-dir {show_dir} needs a visualization hook: add '
            "default_hooks.visualization=dict(type='SegVisualizationHook') "
            'to the config.')
    if cfg.get('visualizer') is None:
        raise SystemExit(
            f'error: --show-dir {show_dir} needs a `visualizer` in the '
            "config (e.g. dict(type='SegLocalVisualizer')).")
    vis['draw'] = True
    # every image (mmseg's hook paints one batch in 50 by default), unless
    # the config or --cfg-options sets an interval
    vis.setdefault('interval', 1)
    cfg.visualizer['save_dir'] = show_dir


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
        trigger_visualization_hook(cfg, args.show_dir)
    # Unknown `type` names fail with the closest registered names.
    with registry_hints():
        runner = build_runner(cfg, 'test_dataloader')
        metrics = runner.test()
    if args.out and is_main_process():  # one writer under a launcher
        save_metrics(metrics, args.out)


if __name__ == '__main__':
    main()
