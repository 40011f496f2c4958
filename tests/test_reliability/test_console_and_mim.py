# Copyright (c) densesiam_mm contributors. All rights reserved.
"""``mim train`` of the demo config from any directory, with a console a
newcomer can read (issue 13, cases 14 and 16).

``mim train densesiam_mm CONFIG`` runs ``python <package>/.mim/tools/train.py
<real path of CONFIG> --launcher none ...`` in the caller's directory; the
test runs exactly that command from an empty directory, without the
repository on ``PYTHONPATH``.
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

import densesiam_mm

PACKAGE = osp.dirname(densesiam_mm.__file__)
MIM_TRAIN = osp.join(PACKAGE, '.mim', 'tools', 'train.py')
MIM_CONFIG = osp.join(PACKAGE, '.mim', 'configs', 'densesiam',
                      'densesiam_resnet18_1xb8-coslr-60i_demo.py')
#: a screenful
MAX_LINES_BEFORE_FIRST_ITER = 40


def test_mim_train_demo_anywhere_with_readable_console(tmp_path):
    if not osp.isfile(MIM_TRAIN):
        pytest.skip(f'{MIM_TRAIN} missing: install with `pip install -e .`')
    cwd = tmp_path / 'elsewhere'
    os.makedirs(cwd)
    environ = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    environ.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    work_dir = cwd / 'work'
    proc = subprocess.run([
        sys.executable, MIM_TRAIN,
        osp.realpath(MIM_CONFIG), '--launcher', 'none', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=1',
        'default_hooks.logger.interval=1'
    ],
                          cwd=str(cwd),
                          env=environ,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # case 14: the shipped photos were found from the package
    log_file, = glob.glob(str(work_dir / '*' / '*.log'))
    log = open(log_file).read()
    assert f"data_root='{osp.dirname(PACKAGE)}/data/demo/'" in log
    assert (work_dir / 'iter_1.pth').is_file()

    # case 16: the first iteration within a screenful; the log keeps all
    lines = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if 'Iter(train)' in line)
    assert first < MAX_LINES_BEFORE_FIRST_ITER, '\n'.join(lines[:first])
    assert "Only use 'alpha'" not in proc.stdout + proc.stderr
    assert 'pkg_resources' not in proc.stderr
    assert len(proc.stderr.splitlines()) <= 2, proc.stderr
    for kept in ('System environment:', 'Config:', 'paramwise_options -- ',
                 'Hooks will be executed in the following order'):
        assert kept in log and kept not in proc.stdout
    assert log_file in proc.stdout  # the console says where they are
