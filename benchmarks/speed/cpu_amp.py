# Copyright (c) densesiam_mm contributors. All rights reserved.
"""bf16 training on the CPU: fp32 vs bf16 autocast vs bf16 + channels_last.

    .venv/bin/python benchmarks/speed/run.py --suite cpu-amp

The DenseSiam ResNet-18 model of the CamVid pre-training config
(``configs/densesiam/densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py``
uses the same model at 128 px, batch 16), RegionSim off and on, on
synthetic 128 px views, batch 16. Each step is what ``tools/train.py`` runs:

- ``fp32``: mmengine's ``OptimWrapper``;
- ``bf16``: ``CPUAmpOptimWrapper(dtype='bfloat16')`` (``--amp`` without
  CUDA): the forward under ``torch.autocast('cpu', torch.bfloat16)``;
- ``bf16 + channels_last``: the same, the model's 4-D parameters in the
  channels-last format (``--amp --channels-last``, ``ChannelsLastHook``:
  the inputs stay contiguous).

All variants run interleaved in one process after a warm-up (medians).
"""
from typing import Callable, Dict, List

from mmengine.optim import OptimWrapper

from . import measure, report
from .models import build_variant, synthetic_batch

AMP_VARIANTS = ('fp32', 'bf16', 'bf16_cl')
AMP_NAMES = dict(
    fp32='fp32', bf16='bf16 autocast', bf16_cl='bf16 autocast + channels_last')


def _wrapper(optimizer, variant: str):
    if variant == 'fp32':
        return OptimWrapper(optimizer=optimizer)
    from densesiam_mm.engine.optimizers import CPUAmpOptimWrapper
    return CPUAmpOptimWrapper(optimizer=optimizer, dtype='bfloat16')


def _step(model, wrapper, inputs, samples) -> Callable[[], None]:

    def step():
        with wrapper.optim_context(model):
            losses = model.loss(inputs, samples)
        wrapper.update_params(sum(losses.values()))

    return step


def cpu_amp_table(size: int = 128,
                  batch_size: int = 16,
                  warmup: int = 1,
                  repeats: int = 5,
                  dense_variants=('densesiam_pixsim', 'densesiam_full'),
                  log=print) -> List[str]:
    """Markdown lines: step time and peak memory of every (model variant,
    precision) pair, with the ratios to fp32."""
    inputs, samples = synthetic_batch(batch_size, size)
    steps, built = {}, {}
    for dense in dense_variants:
        for variant in AMP_VARIANTS:
            model, optimizer = build_variant(
                dense, 'resnet18', channels_last=variant == 'bf16_cl')
            wrapper = _wrapper(optimizer, variant)
            key = (dense, variant)
            built[key] = (model, optimizer)
            steps[key] = _step(model, wrapper, inputs, samples)
    log(f'cpu-amp: {warmup} warm-up + {repeats} interleaved steps of '
        f'{len(steps)} variants')
    times = measure.interleaved_timings(steps, warmup, repeats)
    log('cpu-amp: peak memory')
    peaks = {
        key: measure.peak_memory_bytes(steps[key], *built[key], inputs, 'cpu')
        for key in steps
    }
    wall: Dict = {key: measure.median(times[key]['wall']) for key in steps}
    cpu: Dict = {key: measure.median(times[key]['cpu']) for key in steps}
    rows = []
    for dense in dense_variants:
        base = (dense, 'fp32')
        for variant in AMP_VARIANTS:
            key = (dense, variant)
            runs = times[key]['wall']
            rows.append([
                'RegionSim on' if dense == 'densesiam_full' else
                'RegionSim off', AMP_NAMES[variant],
                f'{wall[key]:.3f} ({min(runs):.3f}-{max(runs):.3f})',
                report.ratio(wall[base], wall[key]), f'{cpu[key]:.3f}',
                report.ratio(cpu[base], cpu[key]), f'{peaks[key] / 2**20:.0f}',
                report.ratio(peaks[key], peaks[base])
            ])
    return [
        f'### bf16 training on the CPU: DenseSiam ResNet-18, {size} px, '
        f'batch {batch_size}', '',
        f'{warmup} warm-up + {repeats} interleaved steps per variant '
        '(forward + backward + SGD step through the optim wrapper '
        '`tools/train.py` uses); speed-up = fp32 step / this step. With '
        'one intra-op thread the process CPU time is the step\'s compute '
        'time without the waits for a core that a loaded machine adds to '
        'the wall time.', '',
        report.table([
            'DenseSiam', 'precision', 'step s, median (min-max)',
            'speed-up vs fp32', 'process CPU s, median', 'CPU speed-up',
            'peak MiB', 'memory ratio'
        ], rows), ''
    ]
