# Copyright (c) densesiam_mm contributors. All rights reserved.
"""siameseim_position_check.py runs on real frames and reports the three
code variants."""

from ..conftest import load_script, shared_path

TOOL = 'tools/analysis/siameseim_position_check.py'


def test_reports_the_three_variants(capsys):
    images = shared_path('camvid', 'images', 'val')
    module = load_script(TOOL)
    module.main([
        'random', '--images', images, '--num-images', '8', '--batch-size', '4'
    ])
    out = capsys.readouterr().out
    assert '| true | other image | same view |' in out
    row = out.strip().splitlines()[-1].split('|')
    assert row[1].strip() == 'random' and row[2].strip() == '8'
    assert all(float(v) > 0 for v in row[3:6])
