# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Bar chart of per-class IoU from an evaluation's metrics file.

    python tools/test.py CONFIG CHECKPOINT --out metrics.json
    python tools/analysis/plot_per_class_iou.py metrics.json \
        --out per_class_iou.png [--things Car Pedestrian Bicyclist]
        [--title TITLE]

Reads the ``IoU.<class>`` entries written by ``HungarianIoUMetric`` (in
percent), draws one bar per class (thing classes in a second colour when
``--things`` is given, NaN classes marked "n/a") and the mIoU as a line.
``--out`` is refused when it is the metrics file (also through a symlink or
a hard link) and written atomically.
"""
import argparse
import io
import json
import math
import os.path as osp

from densesiam_mm.checkpoint import (refuse_to_overwrite_inputs,
                                     save_bytes_atomically)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metrics', help='json from tools/test.py --out')
    parser.add_argument('--out', required=True, help='output image (.png)')
    parser.add_argument(
        '--things', nargs='*', default=(), help='thing class names')
    parser.add_argument('--title', default=None, help='figure title')
    return parser.parse_args(argv)


def per_class_iou(metrics: dict) -> dict:
    """``{class name: IoU}`` in the file's order; raises if there is none."""
    ious = {
        key[len('IoU.'):]: value
        for key, value in metrics.items() if key.startswith('IoU.')
    }
    if not ious:
        raise KeyError('no `IoU.<class>` entries in the metrics (keys: '
                       f'{sorted(metrics)}); evaluate with '
                       'HungarianIoUMetric or mmseg IoUMetric.')
    return ious


def plot(ious: dict, out: str, things=(), title=None, miou=None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(ious)
    values = [
        0. if v is None or math.isnan(v) else float(v) for v in ious.values()
    ]
    colors = ['tab:orange' if name in things else 'tab:blue' for name in names]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names) + 2), 4))
    bars = ax.bar(range(len(names)), values, color=colors)
    for bar, value in zip(bars, ious.values()):
        label = 'n/a' if value is None or math.isnan(value) \
            else f'{value:.1f}'
        ax.annotate(
            label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha='center',
            va='bottom',
            fontsize=7)
    if miou is not None and not math.isnan(miou):
        ax.axhline(
            miou,
            color='k',
            linestyle='--',
            linewidth=1,
            label=f'mIoU {miou:.1f}')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha='right', fontsize=8)
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, max(100, max(values, default=0) + 5))
    if things:
        from matplotlib.patches import Patch
        handles = [
            Patch(color='tab:orange', label='thing'),
            Patch(color='tab:blue', label='stuff')
        ]
        if miou is not None:
            handles += ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=8)
    elif miou is not None:
        ax.legend(fontsize=8)
    ax.set_title(title or 'per-class IoU')
    fig.tight_layout()
    # atomically: a failed write leaves any previous file as it was
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format=osp.splitext(out)[1][1:].lower() or 'png', dpi=120)
    plt.close(fig)
    save_bytes_atomically(out, buffer.getvalue())


def main(argv=None):
    args = parse_args(argv)
    try:
        # before any work: --out must not be the metrics file it reads
        refuse_to_overwrite_inputs(args.out, [args.metrics])
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    if not osp.isfile(args.metrics):
        raise FileNotFoundError(f'no metrics file at {args.metrics}')
    with open(args.metrics) as f:
        metrics = json.load(f)
    ious = per_class_iou(metrics)
    unknown = sorted(set(args.things) - set(ious))
    if unknown:
        raise ValueError(f'--things {unknown} are not classes of '
                         f'{args.metrics} ({list(ious)})')
    plot(ious, args.out, args.things, args.title, metrics.get('mIoU'))
    print(f'{len(ious)} classes -> {args.out}')


if __name__ == '__main__':
    main()
