# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The benchmark harness measures what it says (cheap checks)."""
import torch

from benchmarks.speed import measure, report


def test_cpu_peak_memory_counts_the_live_tensors_of_a_step():
    model = torch.nn.Linear(256, 256, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    inputs = [torch.randn(1024, 256)]

    def step():
        optimizer.zero_grad()
        hidden = model(inputs[0])  # 1 MiB, kept for the backward
        scratch = torch.ones(4 * 2**20, dtype=torch.uint8)  # 4 MiB, freed
        del scratch
        (hidden * hidden).sum().backward()
        optimizer.step()

    step()  # momentum buffer exists
    peak = measure.peak_memory_bytes(step, model, optimizer, inputs, 'cpu')
    persistent = (2 * 256 * 256 + 1024 * 256) * 4  # weight, momentum, input
    assert persistent + 5 * 2**20 <= peak < persistent + 7 * 2**20


def test_interleaved_timings_rotate_and_count_every_run():
    calls = []
    steps = {name: (lambda n=name: calls.append(n)) for name in 'abc'}
    times = measure.interleaved_timings(steps, warmup=1, repeats=3)
    assert calls == list('abc') + list('abc') + list('bca') + list('cab')
    assert all(
        len(t['wall']) == 3 and len(t['cpu']) == 3 for t in times.values())


def test_markdown_table_and_ratio():
    text = report.table(['a', 'b'], [[1, 2.5]])
    assert text.splitlines() == ['| a | b |', '| --- | --- |', '| 1 | 2.5 |']
    assert report.ratio(3.0, 2.0) == '1.500'


def test_quick_run_writes_every_table(tmp_path):
    """``run.py --quick`` end to end on real CamVid frames: every section,
    each ratio and the PiCIE breakdown are in the written file."""
    from benchmarks.speed.run import main
    from ..conftest import shared_path
    camvid = shared_path('camvid')
    out = tmp_path / 'bench.md'
    threads = torch.get_num_threads()
    try:
        text = main([
            '--quick', '--out',
            str(out), '--pipeline-dir', f'{camvid}/images/train'
        ])
    finally:
        torch.set_num_threads(threads)
    assert out.read_text() == text
    for heading in ('### Train step: resnet18, 64px, batch 2, cpu',
                    '### Data pipeline', '### Unsupervised segmentation'):
        assert heading in text
    for row in ('| train step, wall s (median) |', '| peak memory, MiB |',
                '| GFLOP per image pair (counted) |', 'with_cp=True',
                '| DenseSiam (MultiViewWithGeometry) |', '| DenseSiam-Seg |',
                'published per-epoch protocol'):
        assert row in text, row
    assert 'Pending' not in text
