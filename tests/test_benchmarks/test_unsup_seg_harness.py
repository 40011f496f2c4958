# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/benchmarks/unsup_seg_camvid.py (issue 21, item 4): per-epoch
validation, results kept in a results dir, finished runs skipped,
interrupted runs resumed, the per-epoch plot and the table."""
import argparse
import json
import os.path as osp

import pytest

from ..conftest import REPO_ROOT, load_script, shared_path

TOOL = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'unsup_seg_camvid.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.fixture
def tool():
    return load_script(TOOL)


def _record(tool, miou, epochs=3, settings=None):
    """A finished run's record with ``mIoU = miou + epoch``."""
    epoch_miou = [miou + epoch for epoch in range(1, epochs + 1)]
    metrics = [dict(mIoU=m, aAcc=2 * m) for m in epoch_miou]
    return dict(
        settings=settings or dict(
            epochs=epochs,
            view_size=96,
            frames=None,
            train_stride=1,
            val_interval=1),
        metrics=metrics[-1],
        val_epochs=list(range(1, epochs + 1)),
        val_metrics=metrics,
        epoch_mIoU=epoch_miou,
        epoch_times=[10.0] * epochs,
        epoch_cpu_times=[8.0] * epochs,
        val_times=[3.0] * epochs,
        val_frames=101,
        train_frames=367)


def _kmeans_record(tool, miou):
    record = _record(tool, miou, epochs=1)
    record.update(
        val_epochs=[0],
        epoch_mIoU=[miou],
        metrics=dict(mIoU=miou, aAcc=40.0),
        settings=_record(tool, 0)['settings'])
    return record


def test_epoch_curves_table_and_pngs(tool, tmp_path):
    runs = {
        f'dss-official_{init}_seed{seed}': _record(tool, 10 * seed + shift)
        for init, shift in (('random', 0), ('pretrained', 5))
        for seed in (0, 1)
    }
    runs['kmeans_random_seed0'] = _kmeans_record(tool, 12.0)
    runs['kmeans_random_seed1'] = _kmeans_record(tool, 14.0)
    runs['dss-variant_pretrained_seed0'] = _record(tool, 3.0)  # one seed
    done = [runs[f'dss-official_random_seed{seed}'] for seed in (0, 1)]
    epochs, mean, low, high = tool.epoch_curve(done)
    assert (epochs, mean) == ([1, 2, 3], [6.0, 7.0, 8.0])
    assert (low, high) == ([1, 2, 3], [11, 12, 13])

    args = argparse.Namespace(
        rows=['kmeans', 'dss-official', 'dss-variant', 'picie-official'],
        inits=['random', 'pretrained'],
        seeds=[0, 1],
        epochs=3,
        view_size=96,
        amp=False)
    tool.report(runs, args, str(tmp_path))
    text = (tmp_path / 'results.md').read_text()
    assert '3 epochs of 367 train frames, 96 px views' in text
    assert 'training in fp32' in text
    assert ("| random | DenseSiam-Seg, authors' recipe (= + RegionSim) | "
            '8.00 ± 7.07 | 16.00 ± 14.14 | 2 | 10 | 8 | 3 |') in text
    assert '| random | k-means on the initial features (no training) | ' \
        '13.00 ± 1.41 |' in text
    assert 'PiCIE' not in text  # no finished run, no line
    # one finished seed: its value, no made-up spread
    assert ('| pretrained | DenseSiam-Seg, earlier variant | '
            '6.00 | 12.00 | 1 |') in text
    for name in ('results.png', 'miou_per_epoch.png'):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def _fake_run_once(calls):

    def run_once(row, cfg, settings):
        calls.append((row, cfg.work_dir))
        record = _record(None, 1.0, epochs=settings['epochs'])
        record['settings'] = settings
        return record

    return run_once


def _stub_runs(tool, monkeypatch):
    """``run_once`` and the shared initialisation stubbed out."""
    calls = []
    monkeypatch.setattr(tool, 'run_once', _fake_run_once(calls))
    monkeypatch.setattr(tool, 'save_shared_init', lambda *args: None)
    monkeypatch.setattr(tool, 'init_checksums', lambda *args: dict(x='0'))
    return calls


def test_finished_runs_in_the_results_dir_are_skipped(tool, tmp_path,
                                                      monkeypatch):
    calls = _stub_runs(tool, monkeypatch)
    results = tmp_path / 'results'
    argv = [
        '--work-dir',
        str(tmp_path / 'work'), '--results-dir',
        str(results), '--epochs', '3', '--view-size', '96', '--seeds', '0',
        '--rows', 'dss-official', 'picie-official'
    ]
    (results / 'runs').mkdir(parents=True)
    (results / 'runs' / 'dss-official_random_seed0.json').write_text(
        json.dumps(_record(tool, 5.0)))
    runs = tool.main(argv)
    assert [row for row, _ in calls] == ['picie-official']
    work = tmp_path / 'work'
    assert calls[0][1] == str(work / 'picie-official_random_seed0')
    saved = json.loads(
        (results / 'runs' / 'picie-official_random_seed0.json').read_text())
    assert saved['epoch_mIoU'] == [2.0, 3.0, 4.0]
    assert saved['init_checksums'] == dict(x='0')
    assert runs['dss-official_random_seed0']['metrics']['mIoU'] == 8.0
    assert (results / 'miou_per_epoch.png').is_file()

    tool.main(argv)  # everything finished: nothing runs
    assert len(calls) == 1


def test_runs_of_other_settings_are_refused(tool, tmp_path, monkeypatch):
    calls = _stub_runs(tool, monkeypatch)
    (tmp_path / 'runs').mkdir()
    (tmp_path / 'runs' / 'dss-official_random_seed0.json').write_text(
        json.dumps(_record(tool, 5.0, epochs=20)))
    with pytest.raises(
            ValueError,
            match=r'seed0\.json was run with other '
            r'settings: epochs 20 \(now 2\)'):
        tool.main([
            '--work-dir',
            str(tmp_path / 'work'), '--results-dir',
            str(tmp_path), '--epochs', '2', '--view-size', '96', '--seeds',
            '0', '--rows', 'dss-official'
        ])
    assert not calls


def test_runs_of_another_precision_are_refused(tool, tmp_path, monkeypatch):
    """A record from before ``--amp`` existed counts as fp32: it is reused
    by an fp32 command and refused by a bf16 one."""
    calls = _stub_runs(tool, monkeypatch)
    (tmp_path / 'runs').mkdir()
    (tmp_path / 'runs' / 'dss-official_random_seed0.json').write_text(
        json.dumps(_record(tool, 5.0)))
    argv = [
        '--work-dir',
        str(tmp_path / 'work'), '--results-dir',
        str(tmp_path), '--epochs', '3', '--view-size', '96', '--seeds', '0',
        '--rows', 'dss-official'
    ]
    tool.main(argv)
    assert not calls
    monkeypatch.setattr(tool, 'use_amp',
                        lambda cfg, channels_last: 'bf16 + channels_last')
    with pytest.raises(
            ValueError,
            match=r"precision 'fp32' \(now 'bf16 \+ channels_last'\)"):
        tool.main(argv + ['--amp'])
    assert not calls


class Interrupted(Exception):
    """The session ended."""


def test_smoke_run_validates_every_epoch_and_resumes(tool, tmp_path,
                                                     monkeypatch):
    """Two epochs of 8 frames at 32 px, interrupted after the epoch-1
    checkpoint, before its validation: the rerun resumes from that
    checkpoint, runs the lost validation first and records two per-epoch
    mIoU values."""
    shared_path('camvid')
    results = tmp_path / 'results'
    argv = [
        '--work-dir',
        str(tmp_path / 'work'), '--results-dir',
        str(results), '--frames', '8', '4', '--epochs', '2', '--view-size',
        '32', '--rows', 'dss-official', '--seeds', '0'
    ]

    def interrupt(hook, runner):
        raise Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(tool.EpochRecordHook, 'before_val_epoch', interrupt)
        with pytest.raises(Interrupted):
            tool.main(argv)
    work = tmp_path / 'work' / 'dss-official_random_seed0'
    progress = json.loads((work / 'progress.json').read_text())
    assert len(progress['epoch_times']) == 1 and not progress['val_epochs']
    assert (work / 'epoch_1.pth').is_file()
    assert not (results / 'runs').exists()

    run = tool.main(argv)['dss-official_random_seed0']
    assert run['resumed_from'] == 1
    assert run['val_epochs'] == [1, 2] and len(run['epoch_mIoU']) == 2
    assert run['epoch_times'][0] == progress['epoch_times'][0]
    assert len(run['epoch_times']) == 2 and len(run['val_times']) == 2
    assert run['metrics'] == run['val_metrics'][-1]
    assert run['metrics']['mIoU'] == run['epoch_mIoU'][-1]
    assert (run['train_frames'], run['val_frames']) == (8, 4)
    saved = results / 'runs' / 'dss-official_random_seed0.json'
    assert json.loads(saved.read_text())['epoch_mIoU'] == run['epoch_mIoU']
    assert (results / 'miou_per_epoch.png').is_file()
