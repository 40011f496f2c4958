# Copyright (c) densesiam_mm contributors. All rights reserved.
"""``apis/benchmark_runs.py``: the child-process runs of the benchmark tools
(one implementation; the tools never import each other)."""
import glob
import json
import os.path as osp
import sys

import pytest

from densesiam_mm.apis.benchmark_runs import (finetune_from, last_val_metrics,
                                              run_command)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_run_command_logs_and_times(tmp_path):
    log = tmp_path / 'new' / 'run.log'  # its folder does not exist yet
    wall, cpu = run_command([sys.executable, '-c', 'print("trained")'],
                            str(log),
                            cwd=str(tmp_path))
    assert log.read_text().strip() == 'trained'
    assert wall > 0 and cpu >= 0
    run_command([sys.executable, '-c', 'print("resumed")'],
                str(log),
                cwd=str(tmp_path),
                append=True)
    assert log.read_text().split() == ['trained', 'resumed']


def test_run_command_fails_loudly(tmp_path):
    log = tmp_path / 'run.log'
    with pytest.raises(SystemExit) as err:
        run_command([
            sys.executable, '-c', 'import sys; print("diverged"); sys.exit(3)'
        ],
                    str(log),
                    cwd=str(tmp_path))
    assert 'failed (3)' in str(err.value)
    assert 'diverged' in str(err.value) and str(log) in str(err.value)


def _finished_run(run_dir, records):
    vis = run_dir / '20261203_120000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(map(json.dumps, records)))


def test_last_val_metrics_reads_the_last_validation(tmp_path):
    _finished_run(tmp_path, [
        dict(loss=1.0, step=1),
        dict(mIoU=10.0, aAcc=50.0, step=20),
        dict(loss=0.5, step=30),
        dict(mIoU=12.5, aAcc=55.0, step=40)
    ])
    assert last_val_metrics(str(tmp_path)) == dict(mIoU=12.5, aAcc=55.0)
    started = tmp_path / 'started'  # killed before its first log
    started.mkdir()
    with pytest.raises(SystemExit, match='no finished run in'):
        last_val_metrics(str(started))


def test_finetune_from_reuses_a_finished_run(tmp_path):
    run_dir = tmp_path / 'finetune' / 'densesiam' / 'seed0'
    _finished_run(run_dir, [dict(mIoU=30.0, aAcc=80.0, step=40)])
    # a finished run is read; training it again would fail (no config)
    metrics, seconds = finetune_from('no_such_config.py', None, 0,
                                     str(run_dir), REPO_ROOT)
    assert metrics == dict(mIoU=30.0, aAcc=80.0) and seconds == 0.


def test_tools_do_not_load_other_tools():
    """Shared code lives in the package, not in another tool's file."""
    offenders = []
    for path in glob.glob(
            osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True):
        with open(path) as f:
            if 'spec_from_file_location' in f.read():
                offenders.append(osp.relpath(path, REPO_ROOT))
    assert not offenders, offenders
