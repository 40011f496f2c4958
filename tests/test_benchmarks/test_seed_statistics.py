# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The one mean ± std every benchmark table uses (``apis/tool_io.py``): the
sample std (ddof 1), and a single seed shown as its value, never as
``± 0.00`` or ``± nan``."""
import importlib.util
import os.path as osp

import pytest

from densesiam_mm.apis.tool_io import format_mean_std, mean_std

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_mean_std_is_the_sample_std():
    # mean 2; squared deviations 1 + 0 + 1 = 2, over n - 1 = 2 -> std 1
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    # a seed without the result (None) is left out, not counted as 0
    assert mean_std([30.0, None, 32.0]) == pytest.approx((31.0, 2**0.5))


def test_one_seed_and_no_seed():
    assert mean_std([5.0]) == (5.0, None)
    assert mean_std([]) == (None, None)
    assert mean_std([None]) == (None, None)
    assert format_mean_std([5.0]) == '5.00'
    assert format_mean_std([]) == '-'
    assert format_mean_std([30.0, 32.0]) == '31.00 ± 1.41'
    assert format_mean_std([30.0, 32.0], digits=1) == '31.0 ± 1.4'


def test_transfer_table_with_one_seed_has_no_nan():
    """``transfer_camvid.py`` printed ``± nan`` for a single seed."""
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'transfer_camvid.py')
    spec = importlib.util.spec_from_file_location('transfer_camvid', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.table({'random init': [dict(mIoU=20.0, aAcc=70.0)]}, [0])
    assert 'nan' not in text
    assert '| random init | 20.00 | 70.00 | 20.00 |' in text
