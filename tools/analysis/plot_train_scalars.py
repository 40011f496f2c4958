# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Plot logged training scalars (mmengine ``vis_data/scalars.json``).

    python tools/analysis/plot_train_scalars.py WORK_DIR \
        --keys loss target_std --out docs/figures/run.png

One panel per key, against the iteration; all runs under ``WORK_DIR``
(``*/vis_data/scalars.json``, e.g. a run and its resume) are joined.
``--out`` is refused when it is one of those logs (also through a symlink
or a hard link) and written atomically.
"""
import argparse
import glob
import io
import json
import os.path as osp
import sys

from densesiam_mm.checkpoint import (refuse_to_overwrite_inputs,
                                     save_bytes_atomically)


def scalar_files(work_dir: str) -> list:
    """The ``*/vis_data/scalars.json`` files under ``work_dir``."""
    return sorted(
        glob.glob(
            osp.join(glob.escape(work_dir), '*', 'vis_data', 'scalars.json')))


def read_scalars(work_dir: str) -> dict:
    """``{iter: row}`` of every logged training row under ``work_dir``."""
    files = scalar_files(work_dir)
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: not an mmengine '
            'work dir, or the run logged nothing yet.')
    rows = {}
    for path in files:
        with open(path) as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    if 'iter' in row and 'lr' in row:
                        rows[row['iter']] = row
    return rows


def plot(rows: dict, keys, out: str, title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    missing = [k for k in keys if not any(k in r for r in rows.values())]
    if missing:
        raise KeyError(f'keys {missing} are not logged; logged keys: '
                       f'{sorted(set().union(*rows.values()))}')
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2))
    axes = [axes] if len(keys) == 1 else axes
    for ax, key in zip(axes, keys):
        its = sorted(i for i in rows if key in rows[i])
        ax.plot(its, [rows[i][key] for i in its], marker='.', lw=1)
        ax.set_xlabel('iteration')
        ax.set_title(key)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure_atomically(fig, out, dpi=110)
    plt.close(fig)


def save_figure_atomically(fig, out: str, **kwargs) -> None:
    """``fig.savefig(out)`` (format from the extension, PNG without one),
    written atomically: a failed write leaves any previous file as it
    was."""
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format=osp.splitext(out)[1][1:].lower() or 'png', **kwargs)
    save_bytes_atomically(out, buffer.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--keys', nargs='+', default=['loss'])
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--title', default='')
    args = parser.parse_args(argv)
    try:
        # before any work: --out must not be one of the logs it plots
        refuse_to_overwrite_inputs(args.out, scalar_files(args.work_dir))
    except ValueError as err:
        sys.exit(f'error: {err}')
    try:
        plot(read_scalars(args.work_dir), args.keys, args.out, args.title)
    except (FileNotFoundError, KeyError) as err:
        sys.exit(f'error: {err}')
    print(args.out)


if __name__ == '__main__':
    main()
