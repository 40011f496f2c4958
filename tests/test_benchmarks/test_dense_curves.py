# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/benchmarks/dense_curves_camvid.py: the leave-one-drive-out split,
identical settings across methods, resuming from the results kept in the
repository, and the report (table and curves) built from them."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from tests.conftest import REPO_ROOT, SHARED_DATA, load_script, shared_path

TOOL = 'tools/benchmarks/dense_curves_camvid.py'


def test_leave_one_drive_out_split(tmp_path, monkeypatch):
    tool = load_script(TOOL)
    shared_path('camvid', 'images', 'train')
    monkeypatch.setenv('DENSESIAM_SHARED_DATA', SHARED_DATA)
    splits = tool.make_splits(str(tmp_path))
    assert len(splits['pretrain_stems']) == 367
    assert len(splits['heldout']) == 101
    # the held-out drive is never pre-trained on, and is all 0006R0
    drive = [s.split('/')[1].split('_')[0] for s in splits['heldout']]
    assert set(drive) == {'0006R0'}
    assert not set(splits['heldout']) & set(splits['pretrain_stems'])
    # the val protocol fits on seen train frames and scores seen val frames
    assert all(s.startswith('train/') for s in splits['seen_train'])
    assert all(s.startswith('val/') for s in splits['seen_val'])
    with open(splits['pretrain']) as f:
        listed = f.read().split()
    assert listed == [s + '.jpg' for s in splits['pretrain_stems']]


def test_methods_differ_only_in_the_method():
    tool = load_script(TOOL)
    cfgs = {
        name: Config.fromfile(osp.join(REPO_ROOT, path))
        for name, path in tool.METHODS.items() if name not in tool.VARIANTS
    }
    reference = cfgs['DenseSiam']
    for name, cfg in cfgs.items():
        for key in ('train_dataloader', 'param_scheduler', 'train_cfg',
                    'randomness'):
            assert cfg[key] == reference[key], (name, key)
        assert cfg.optim_wrapper.optimizer.lr == 0.05, name
    # DenseCL is mmpretrain's own, with a queue that fills in this run
    assert cfgs['DenseCL'].model.type == 'DenseCL'
    assert cfgs['DenseCL'].model.queue_len < 367


def fake_result(miou):
    return dict(
        linear_miou=miou,
        kmeans_miou=miou / 2,
        kmeans_k11_miou=miou / 2,
        kmeans_k33_miou=miou / 3)


def write(path, value):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(value, f)


def fill_results(tool, args, name, seed, base):
    for it in tool.curve_iterations(args):
        write(
            tool.result_file(args, 'curve', name, seed, f'iter_{it}.json'),
            dict(
                val=fake_result(base + it / 100),
                heldout=fake_result(base + it / 200),
                seconds=1.))
    for stages in tool.FINAL_STAGES:
        for protocol in ('val', 'heldout'):
            write(
                tool.result_file(args, 'final', name, seed,
                                 f'{stages}_{protocol}.json'),
                fake_result(base + 10))
    write(
        tool.result_file(args, 'timing', name, seed, 'pretrain.json'),
        dict(seconds=600., cpu_seconds=1200., segments=1))


def test_a_run_with_its_results_in_the_repo_is_not_trained_again(tmp_path):
    tool = load_script(TOOL)
    args = tool.parse_args([
        '--work-dir',
        str(tmp_path / 'work'), '--results-dir',
        str(tmp_path / 'results'), '--iters', '300', '--interval', '150',
        '--curve-interval', '150'
    ])
    assert not tool.run_complete('SimSiam', 0, args)
    fill_results(tool, args, 'SimSiam', 0, base=20.)
    assert tool.run_complete('SimSiam', 0, args)

    def no_training(*_):
        raise AssertionError('a complete run was trained again')

    tool.run = no_training
    timing = tool.pretrain('SimSiam', 0, args, dict(pretrain='unused'))
    assert timing['cpu_seconds'] == 1200.
    # a final result missing: the run is not complete (its checkpoint is
    # needed again)
    os.remove(tool.result_file(args, 'final', 'SimSiam', 0, 'C5_heldout.json'))
    assert not tool.run_complete('SimSiam', 0, args)


def test_report_from_the_results_dir(tmp_path):
    pytest.importorskip('matplotlib')
    tool = load_script(TOOL)
    args = tool.parse_args([
        '--work-dir',
        str(tmp_path / 'work'), '--results-dir',
        str(tmp_path / 'results'), '--iters', '300', '--interval', '150',
        '--curve-interval', '150', '--methods', 'DenseSiam', 'SimSiam',
        '--seeds', '0', '1'
    ])
    fill_results(tool, args, 'DenseSiam', 0, base=20.)
    fill_results(tool, args, 'DenseSiam', 1, base=22.)
    fill_results(tool, args, 'SimSiam', 0, base=18.)
    for stages in tool.FINAL_STAGES:
        for protocol in ('val', 'heldout'):
            write(
                tool.result_file(args, 'final', 'random (no zero-init)',
                                 0, f'{stages}_{protocol}.json'),
                fake_result(19.))
    # a method and a seed outside --methods / --seeds (a single-change run
    # made alone) are reported too
    fill_results(tool, args, 'DenseSiam (no zero-init)', 2, base=21.)
    curves, finals, timings = tool.collect(args)
    assert sorted(curves) == [
        'DenseSiam', 'DenseSiam (no zero-init)', 'SimSiam'
    ]
    assert sorted(curves['DenseSiam']) == [0, 1]
    assert sorted(curves['DenseSiam (no zero-init)']) == [2]
    assert sorted(finals) == [
        'DenseSiam', 'DenseSiam (no zero-init)', 'SimSiam',
        'random (no zero-init)'
    ]
    tool.report(args, curves, finals, timings)
    text = (tmp_path / 'results' / 'results.md').read_text()
    # DenseSiam: final linear 30 and 32 over the two seeds -> 31.00 ± 1.41
    row = next(line for line in text.splitlines()
               if line.startswith('| DenseSiam | 0,1 |'))
    assert '31.00 ± 1.41' in row
    assert '| 10.0 / 20.0 |' in row  # wall / CPU minutes
    # one seed has no spread
    assert '| SimSiam | 0 |' in text and '28.00 |' in text
    assert (tmp_path / 'results' / 'curves.png').stat().st_size > 10_000


def test_where_the_curves_cross():
    tool = load_script(TOOL)
    ours = {0: 15., 300: 19., 600: 22., 900: 22.}
    theirs = {0: 20., 300: 21., 600: 21., 900: 22.}
    gaps, changes = tool.crossings(ours, theirs)
    assert gaps == [(0, -5.), (300, -2.), (600, 1.), (900, 0.)]
    # behind up to 300, ahead from 600; the tie at 900 is no change
    assert changes == [(300, 600, 'ahead')]
    assert tool.crossings(ours, {0: 10., 300: 10., 600: 10.})[1] == []

    def seeds(*curve):
        return {
            0: {
                i: {
                    p: dict(linear_miou=v)
                    for p in ('val', 'heldout')
                }
                for i, v in zip((0, 300, 600), curve)
            }
        }

    lines = tool.crossing_lines({
        'DenseSiam': seeds(15., 19., 22.),
        'DenseCL': seeds(20., 21., 21.),
        'SimSiam': seeds(14., 16., 18.),
    })
    text = '\n'.join(lines)
    assert '| val | DenseCL | 0 | 0: -5.0, 300: -2.0, 600: +1.0 | ' \
        'DenseSiam ahead from between 300 and 600 |' in text
    assert '| heldout | SimSiam | 0 | 0: +1.0, 300: +3.0, 600: +4.0 | ' \
        'none: DenseSiam ahead throughout |' in text
    # paired: DenseSiam's seed 1 is not compared with SimSiam, which has
    # seed 0 only; DenseCL is compared on the mean of both seeds
    two = seeds(15., 19., 22.)
    two[1] = seeds(17., 21., 24.)[0]
    dense_cl = seeds(20., 21., 21.)
    dense_cl[1] = seeds(20., 21., 21.)[0]
    text = '\n'.join(
        tool.crossing_lines({
            'DenseSiam': two,
            'DenseCL': dense_cl,
            'SimSiam': seeds(14., 16., 18.),
        }))
    assert '| val | SimSiam | 0 | 0: +1.0, 300: +3.0, 600: +4.0 |' in text
    assert '| val | DenseCL | 0,1 | 0: -4.0, 300: -1.0, 600: +2.0 |' in text
