# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Transfer end to end on CPU: the CPU-sized benchmark variants fine-tune
from a real DenseSiam ResNet-50 checkpoint through the benchmark scripts
(`mim train mmdet|mmseg`), on the real shared data, and the collector
reports the logged numbers."""
import glob
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT, SHARED_DATA, config_path, shared_path
from ..test_tools.test_extract_backbone_weights import (
    densesiam_r50_checkpoint, tool)

BENCH = config_path('benchmarks')
MASK_RCNN_CPU = osp.join(BENCH, 'mmdetection', 'coco',
                         'mask-rcnn_resnet50_fpn_1xb2-1i_tiny-coco.py')
FASTER_C4_CPU = osp.join(BENCH, 'mmdetection', 'voc0712',
                         'faster-rcnn_resnet50-c4_1xb2-1i_tiny-coco.py')
FCN_CPU = osp.join(BENCH, 'mmsegmentation', 'camvid',
                   'fcn_resnet50-d8_1xb2-1i_camvid-128x128.py')
SCRIPTS = osp.join(REPO_ROOT, 'tools', 'benchmarks')
COLLECT = osp.join(SCRIPTS, 'collect_results.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return densesiam_r50_checkpoint(tmp_path_factory)


@pytest.fixture(scope='module')
def bench_root(tmp_path_factory):
    return tmp_path_factory.mktemp('benchmarks') / 'densesiam'


def run_trials(package, config, ckpt, work_root, seeds='0'):
    """The benchmark script on CPU: LAUNCHER=none, GPUS=0."""
    script = osp.join(SCRIPTS, package, 'mim_train_trials.sh')
    env = dict(
        os.environ,
        DENSESIAM_SHARED_DATA=SHARED_DATA,
        GPUS='0',
        LAUNCHER='none',
        SEEDS=seeds,
        PYTHON=sys.executable,
        MIM=osp.join(osp.dirname(sys.executable), 'mim'),
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    proc = subprocess.run(['bash', script, config, ckpt,
                           str(work_root)],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return log


def scalars(run_dir):
    files = glob.glob(osp.join(str(run_dir), '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_one_train_one_val(log, run_dir, metric_keys):
    assert 'Iter(train) [1/1]' in log and 'Iter(val) [1/1]' in log, \
        log[-4000:]
    # the backbone was loaded (densesiam_mm's checked Pretrained init says
    # how many tensors the file gave), with nothing missing (mmengine warns)
    assert re.search(r'Pretrained: \S+.* provides \d+ of the \d+ tensors',
                     log), log[-4000:]
    assert 'missing keys in source state_dict' not in log, log[-4000:]
    rows = scalars(run_dir)
    train = [r for r in rows if 'loss' in r]
    assert len(train) == 1 and math.isfinite(train[0]['loss'])
    val = [r for r in rows if any(k in r for k in metric_keys)]
    assert len(val) == 1, rows
    for key in metric_keys:
        assert math.isfinite(val[0][key]), (key, val[0])
    return val[0]


def test_mask_rcnn_fpn_on_tiny_coco(checkpoint, bench_root):
    shared_path('tiny_coco', 'annotations', 'instances_train2017.json')
    work_root = bench_root / 'mask-rcnn_tiny-coco'
    log = run_trials('mmdetection', MASK_RCNN_CPU, checkpoint, work_root)
    assert 'prefix backbone.' in log
    check_one_train_one_val(
        log, work_root / 'seed0',
        ['coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'])


def test_faster_rcnn_c4_on_tiny_coco_from_extracted_file(
        checkpoint, bench_root, tmp_path):
    shared_path('tiny_coco', 'annotations', 'instances_train2017.json')
    extracted = str(tmp_path / 'densesiam_r50_backbone.pth')
    tool.convert(checkpoint, extracted)
    work_root = bench_root / 'faster-rcnn-c4_tiny-coco'
    log = run_trials('mmdetection', FASTER_C4_CPU, extracted, work_root)
    # an extracted file: no prefix, read by the backbone and the res5 head
    assert 'prefix None' in log
    assert log.count(f'Pretrained: {extracted} provides') == 2, log[-4000:]
    check_one_train_one_val(log, work_root / 'seed0',
                            ['coco/bbox_mAP', 'coco/bbox_mAP_75'])


def test_fcn_on_camvid_two_seeds_and_the_collector(checkpoint, bench_root):
    shared_path('camvid', 'labels', 'val')
    work_root = bench_root / 'fcn_camvid'
    log = run_trials(
        'mmsegmentation', FCN_CPU, checkpoint, work_root, seeds='0 1')
    mious = [
        check_one_train_one_val(log, work_root / f'seed{seed}',
                                ['mIoU'])['mIoU'] for seed in (0, 1)
    ]
    # the collector reads the finished runs' logs and prints their mean/std
    proc = subprocess.run(
        [sys.executable, COLLECT, str(bench_root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout
    mean = sum(mious) / 2
    std = abs(mious[0] - mious[1]) / math.sqrt(2)  # sample std of two
    assert f'{mean:.2f} ± {std:.2f}' in table, (mious, table)
    assert '- densesiam: fcn_camvid: 2' in table
    if (bench_root / 'faster-rcnn-c4_tiny-coco').is_dir() and \
            (bench_root / 'mask-rcnn_tiny-coco').is_dir():
        # two benchmarks filling COCO det: the second gets its own row
        header = table.splitlines()[0]
        assert header.startswith('| pre-training | COCO det AP |'), header
        assert 'Cityscapes mIoU' in header
        assert '| densesiam [mask-rcnn_tiny-coco] |' in table, table


def _write_log(run_dir, stamp, lines):
    path = run_dir / stamp
    path.mkdir(parents=True)
    (path / f'{stamp}.log').write_text('\n'.join(lines) + '\n')


def test_collector_reads_text_logs_and_keeps_the_last_record(tmp_path):
    """Runs without scalars.json (text logs only), hand-computed means."""
    root = tmp_path / 'densesiam'
    coco = 'Epoch(val) [12][5000/5000]    coco/bbox_mAP: {:.4f}  ' \
        'coco/bbox_mAP_50: 0.6000  coco/bbox_mAP_75: 0.4400  ' \
        'coco/segm_mAP: {:.4f}  coco/segm_mAP_50: 0.5800  ' \
        'coco/segm_mAP_75: 0.3900  data_time: 0.01  time: 0.1'
    for seed, (box, mask) in enumerate([(0.408, 0.364), (0.404, 0.360)]):
        # an earlier validation and an earlier, superseded timestamp
        _write_log(root / 'mask-rcnn' / f'seed{seed}', '20240101_000000',
                   [coco.format(0.1, 0.1)])
        _write_log(root / 'mask-rcnn' / f'seed{seed}', '20240102_000000', [
            coco.format(0.2, 0.2), 'Epoch(train) [12][10/100] loss: 0.5',
            coco.format(box, mask)
        ])
    for seed, miou in enumerate([77.0, 76.0, 78.0]):
        _write_log(root / 'fcn' / f'seed{seed}', '20240101_000000', [
            f'Iter(val) [500/500]    aAcc: 95.0000  mIoU: {miou:.4f}  '
            'mAcc: 84.0000  data_time: 0.01  time: 0.2'
        ])
    proc = subprocess.run(
        [sys.executable, COLLECT, str(root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        '| pre-training | COCO det AP | COCO det AP50 | COCO det AP75 | '
        'COCO mask AP | COCO mask AP50 | COCO mask AP75 | Cityscapes mIoU |')
    # box AP mean 40.60, sample std 0.2828; mask 36.20; mIoU 77.00 ± 1.00
    assert lines[2] == (
        '| densesiam | 40.60 ± 0.28 | 60.00 ± 0.00 | 44.00 ± 0.00 | '
        '36.20 ± 0.28 | 58.00 ± 0.00 | 39.00 ± 0.00 | 77.00 ± 1.00 |')
    assert '- densesiam: fcn: 3' in proc.stdout
    assert '- densesiam: mask-rcnn: 2' in proc.stdout
