# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The SiameseIM vs MAE cost benchmark runs and reports both models."""
from benchmarks.speed import siameseim_vs_mae


def test_quick_run_reports_both_models(tmp_path):
    out = tmp_path / 'speed.md'
    results = siameseim_vs_mae.main(
        ['--quick', '--warmup', '1', '--repeats', '1', '--out',
         str(out)])
    assert set(results) == {'mae', 'siameseim'}
    for name, row in results.items():
        assert row['wall'] > 0 and row['peak'] > 0 and row['flops'] > 0
    text = out.read_text()
    assert 'MAE (mmpretrain)' in text and 'SiameseIM' in text
    assert 'ratio SiameseIM / MAE' in text
