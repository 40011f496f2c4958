# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The GPU suite runs end to end on the CPU (``--device cpu --quick``), so
it is ready, and stays ready, for the first GPU."""
import os
import os.path as osp
import subprocess
import sys

from ..conftest import REPO_ROOT, SHARED_DATA

SECTIONS = ('a. pytest -m cuda', 'b. DenseSiam vs SimSiam train step',
            'b. SiameseIM vs MAE train step', 'c. 6-iteration DenseSiam R18',
            'd. DenseSiam-Seg vs PiCIE epoch')


def test_cpu_quick_run_exits_0_and_writes_every_section(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run([
        osp.join(REPO_ROOT, 'benchmarks', 'gpu', 'run.sh'), '--device', 'cpu',
        '--quick', '--out',
        str(tmp_path)
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=660)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    reports = list(tmp_path.glob('gpu-*-cpu-quick.md'))
    assert len(reports) == 1
    text = reports[0].read_text()
    assert '- result: all sections ok' in text
    for title in SECTIONS:
        assert f'## {title}' in text, title
    # the tests ran on the CPU and none was skipped for want of CUDA
    assert 'passed, 0 failed, 0 skipped' in text
    camvid = osp.isdir(osp.join(SHARED_DATA, 'camvid', 'images', 'train'))
    assert ('Skipped: CamVid not found' in text) != camvid
    if camvid:
        assert '| DenseSiam-Seg |' in text
        assert 'every logged loss finite: True' in text


def test_cpu_amp_table_compares_the_three_precisions():
    """``run.py --suite cpu-amp`` (item 4's table), tiny: every precision
    has a row with its ratio to fp32."""
    from benchmarks.speed.cpu_amp import cpu_amp_table
    lines = cpu_amp_table(
        size=32,
        batch_size=2,
        warmup=0,
        repeats=1,
        dense_variants=('densesiam_pixsim', ),
        log=lambda message: None)
    rows = [
        line for line in '\n'.join(lines).splitlines()
        if line.startswith('| RegionSim off |')
    ]
    assert [row.split('|')[2].strip() for row in rows
            ] == ['fp32', 'bf16 autocast', 'bf16 autocast + channels_last']
    assert rows[0].split('|')[4].strip() == '1.000'  # fp32 / fp32
    assert all(float(row.split('|')[4]) > 0 for row in rows)
