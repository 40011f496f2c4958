# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Collect fine-tuning trials into the layout of the paper's Table 2.

    python tools/benchmarks/collect_results.py ROOT [ROOT ...]
        [--names NAME ...] [--json OUT.json]

Each ``ROOT`` holds the runs of one pre-trained checkpoint (one table row),
e.g. ``work_dirs/benchmarks/densesiam`` as written by
``tools/benchmarks/{mmdetection,mmsegmentation}/mim_train_trials.sh``::

    ROOT/<benchmark config>/seed{S}/<timestamp>/vis_data/scalars.json
    ROOT/<benchmark config>/seed{S}/<timestamp>/<timestamp>.log

A run is a directory with ``<timestamp>/`` sub-directories; its result is the
last validation record of its newest timestamp that has one (mmengine's
``scalars.json``, or the text log when there is none), so a resumed run
counts once. Columns are chosen from the logged keys:

| column group   | columns          | log keys (x100 for COCO/VOC)        |
| -------------- | ---------------- | ----------------------------------- |
| COCO det       | AP, AP50, AP75   | coco/bbox_mAP, _50, _75             |
| COCO mask      | AP, AP50, AP75   | coco/segm_mAP, _50, _75             |
| Cityscapes     | mIoU             | mIoU (mmseg logs percent)           |
| VOC det        | AP50, AP, AP75   | pascal_voc/AP50, mAP, AP75          |

Cells are ``mean ± std`` over the trials (sample standard deviation, ddof
1; a single trial prints its value alone). When two benchmarks of one ROOT
fill the same columns (e.g. a CPU Faster R-CNN on COCO beside Mask R-CNN),
the second gets its own row, labelled with its benchmark name.
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from collections import OrderedDict

from densesiam_mm.apis.tool_io import mean_std

# (group, column, log key, scale to percent)
COLUMNS = [
    ('COCO det', 'AP', 'coco/bbox_mAP', 100.),
    ('COCO det', 'AP50', 'coco/bbox_mAP_50', 100.),
    ('COCO det', 'AP75', 'coco/bbox_mAP_75', 100.),
    ('COCO mask', 'AP', 'coco/segm_mAP', 100.),
    ('COCO mask', 'AP50', 'coco/segm_mAP_50', 100.),
    ('COCO mask', 'AP75', 'coco/segm_mAP_75', 100.),
    ('Cityscapes', 'mIoU', 'mIoU', 1.),
    ('VOC det', 'AP50', 'pascal_voc/AP50', 100.),
    ('VOC det', 'AP', 'pascal_voc/mAP', 100.),
    ('VOC det', 'AP75', 'pascal_voc/AP75', 100.),
]
METRIC_KEYS = [key for _, _, key, _ in COLUMNS]
_LOG_PAIR = re.compile(r'(\S+): (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)')


def _metric_record(record: dict):
    found = {k: float(record[k]) for k in METRIC_KEYS if k in record}
    return found or None


def _records_from_scalars(path: str) -> list:
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                found = _metric_record(json.loads(line))
                if found:
                    records.append(found)
    return records


def _records_from_log(path: str) -> list:
    records = []
    with open(path) as f:
        for line in f:
            if '(val)' not in line and '(test)' not in line:
                continue
            found = _metric_record(dict(_LOG_PAIR.findall(line)))
            if found:
                records.append(found)
    return records


def read_run(run_dir: str):
    """Last validation metrics of one run directory, or None."""
    for stamp in sorted(glob.glob(osp.join(run_dir, '*/')), reverse=True):
        stamp = stamp.rstrip('/')
        scalars = osp.join(stamp, 'vis_data', 'scalars.json')
        log = osp.join(stamp, osp.basename(stamp) + '.log')
        if osp.isfile(scalars):
            records = _records_from_scalars(scalars)
        elif osp.isfile(log):
            records = _records_from_log(log)
        else:
            continue
        if records:
            return records[-1]
    return None


def find_runs(root: str) -> 'OrderedDict[str, list]':
    """``{benchmark: [run metrics, ...]}`` for every run under ``root``.

    A run directory is the parent of ``<timestamp>/vis_data`` or of
    ``<timestamp>/<timestamp>.log``; its benchmark is its path relative to
    ``root`` without a trailing ``seed*`` component.
    """
    run_dirs = set()
    for path in glob.glob(
            osp.join(root, '**', '*', 'vis_data'), recursive=True):
        run_dirs.add(osp.dirname(osp.dirname(path)))
    for path in glob.glob(osp.join(root, '**', '*', '*.log'), recursive=True):
        stamp = osp.dirname(path)
        if osp.basename(path) == osp.basename(stamp) + '.log':
            run_dirs.add(osp.dirname(stamp))
    runs = OrderedDict()
    for run_dir in sorted(run_dirs):
        metrics = read_run(run_dir)
        if metrics is None:
            print(
                f'skipped {run_dir}: no validation metrics logged',
                file=sys.stderr)
            continue
        rel = osp.relpath(run_dir, root)
        parts = rel.split(osp.sep)
        if re.fullmatch(r'seed\d+', parts[-1]):
            parts = parts[:-1]
        benchmark = '/'.join(parts) if parts and parts != ['.'] else '.'
        runs.setdefault(benchmark, []).append(metrics)
    return runs


def summarise(name: str, runs: dict) -> list:
    """Table rows ``{'name', 'cells': {key: (mean, std, n)}, 'benchmarks'}``.

    Benchmarks are packed into one row unless their columns collide.
    """
    rows = []
    for benchmark, metrics in runs.items():
        cells = {}
        for key, scale in ((k, s) for _, _, k, s in COLUMNS):
            values = [m[key] * scale for m in metrics if key in m]
            if values:
                cells[key] = (*mean_std(values), len(values))
        for row in rows:
            if not set(row['cells']) & set(cells):
                row['cells'].update(cells)
                row['benchmarks'].append((benchmark, len(metrics)))
                break
        else:
            label = name if not rows else f'{name} [{benchmark}]'
            rows.append(
                dict(
                    name=label,
                    cells=cells,
                    benchmarks=[(benchmark, len(metrics))]))
    return rows


def format_cell(cell) -> str:
    if cell is None:
        return '-'
    mean, std, _ = cell
    return f'{mean:.2f}' if std is None else f'{mean:.2f} ± {std:.2f}'


def format_table(rows: list) -> str:
    """Markdown table in Table 2's column order (empty groups dropped)."""
    used = [c for c in COLUMNS if any(c[2] in r['cells'] for r in rows)]
    header = ['pre-training'] + [f'{g} {c}' for g, c, _, _ in used]
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(' --- ' for _ in header) + '|',
    ]
    for row in rows:
        cells = [format_cell(row['cells'].get(key)) for _, _, key, _ in used]
        lines.append('| ' + ' | '.join([row['name']] + cells) + ' |')
    lines.append('')
    lines.append('mean ± std over trials (sample std); trials per benchmark:')
    for row in rows:
        for benchmark, n in row['benchmarks']:
            lines.append(f'- {row["name"]}: {benchmark}: {n}')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Print mean ± std of fine-tuning trials in the layout '
        'of DenseSiam Table 2.')
    parser.add_argument(
        'roots', nargs='+', help='one directory of runs per pre-training')
    parser.add_argument(
        '--names', nargs='+', help='row names (default: directory names)')
    parser.add_argument('--json', help='also write the numbers as JSON')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.names or [osp.basename(osp.normpath(r)) for r in args.roots]
    if len(names) != len(args.roots):
        sys.exit('error: --names needs one name per ROOT')
    rows = []
    for name, root in zip(names, args.roots):
        if not osp.isdir(root):
            sys.exit(f'error: {root} is not a directory')
        runs = find_runs(root)
        if not runs:
            sys.exit(f'error: no finished run with validation metrics '
                     f'({", ".join(METRIC_KEYS[:2])}, ...) under {root}')
        rows += summarise(name, runs)
    print(format_table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == '__main__':
    main()
