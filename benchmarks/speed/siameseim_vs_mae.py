# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM vs mmpretrain's MAE cost, the same ViT, side by side.

    .venv/bin/python benchmarks/speed/siameseim_vs_mae.py \
        --out docs/benchmarks/siameseim_cpu_$(date -u +%F).md

Both models use the same encoder (``--arch``, default ViT-B/16 at 224 px)
on the same batch of images (``--batch-size``): MAE (mmpretrain's
``configs/_base_/models/mae_vit-base-p16.py``: 75 % random masking, 8-block
512-wide decoder, normalised-pixel loss) sees each image once; SiameseIM
(``configs/siameseim/siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py``
model: 118 of 196 patches masked, 2 + 4 token-BN blocks of 768, EMA target
on the whole second view) sees two views of each. One train step = forward,
backward and an AdamW step over the trainable parameters (SiameseIM's EMA
update is inside its forward). Measured interleaved after a warm-up
(:mod:`benchmarks.speed.measure`): median step time (wall clock, and the
process CPU time, which a shared CPU distorts less), peak tensor memory
(CUDA ``max_memory_allocated``; CPU profiler allocation trace), FLOPs
counted by ``torch.utils.flop_counter`` and parameters.

``--arch`` takes mmpretrain's ViT names (``b``, ``s``, ``deit-tiny``...);
``--quick`` is a 2-layer 64-wide ViT for a smoke run (tests).
"""
import argparse
import copy
import os.path as osp
import sys

if __package__ in (None, ''):  # run as a script: make `benchmarks` importable
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmpretrain  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MessageHub  # noqa: E402
from mmpretrain.models.backbones import VisionTransformer  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

import densesiam_mm  # noqa: E402,F401
from benchmarks.speed import measure, report  # noqa: E402
from densesiam_mm.datasets.transforms import ExactCountBlockMask  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIAMESEIM_CFG = osp.join(
    REPO_ROOT, 'configs', 'siameseim',
    'siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py')
MAE_CFG = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'configs', '_base_', 'models',
    'mae_vit-base-p16.py')
QUICK_ARCH = dict(
    embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
NAMES = {'mae': 'MAE (mmpretrain)', 'siameseim': 'SiameseIM'}


def arch_settings(arch):
    if isinstance(arch, dict):
        return arch
    return VisionTransformer.arch_zoo[arch]


def model_cfgs(arch, img_size=224, patch_size=16, quick=False):
    """MAE and SiameseIM model dicts on the same encoder (``quick``: a
    2-block decoder as wide as the encoder for MAE, for smoke runs)."""
    width = arch_settings(arch)['embed_dims']
    mae = Config.fromfile(MAE_CFG).model.to_dict()
    mae['backbone'].update(arch=arch, img_size=img_size, patch_size=patch_size)
    mae['neck'].update(embed_dim=width, patch_size=patch_size)
    mae['head'].update(patch_size=patch_size)
    if quick:
        mae['neck'].update(
            decoder_embed_dim=width, decoder_depth=2, decoder_num_heads=2)

    sim = copy.deepcopy(Config.fromfile(SIAMESEIM_CFG).model.to_dict())
    sim['backbone'].update(arch=arch, img_size=img_size, patch_size=patch_size)
    token_norm = dict(type='TokenBN')  # one process
    sim['neck'].update(
        in_channels=width, embed_dims=width, norm_cfg=token_norm)
    sim['head'].update(embed_dims=width, norm_cfg=token_norm)
    if width % 16:
        sim['neck']['num_heads'] = sim['head']['num_heads'] = 2
    return dict(mae=mae, siameseim=sim)


def build(cfg, device):
    model = MODELS.build(cfg)
    model.init_weights()
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    return model, optimizer


def make_batch(batch_size, img_size, patch_size, device, seed=0):
    """Two normalised views, boxes/flips and exact-count masks (118/196 at
    224/16; the same ratio for other grids)."""
    gen = torch.Generator().manual_seed(seed)
    views = [
        torch.randn(batch_size, 3, img_size, img_size,
                    generator=gen).to(device) for _ in range(2)
    ]
    grid = img_size // patch_size
    masked = round(118 / 196 * grid * grid)
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    masker = ExactCountBlockMask(grid, masked, min_num_patches=min(16, grid))
    samples = []
    for _ in range(batch_size):
        x1, y1 = rng.uniform(0, 200, size=2)
        sample = DataSample()
        sample.set_field(
            np.array([[x1, y1, x1 + 250, y1 + 180],
                      [x1 + 60, y1 + 40, x1 + 330, y1 + 240]], np.float32),
            'view_boxes')
        sample.set_field(rng.uniform(size=2) < 0.5, 'view_flips')
        sample.set_mask(masker({})['mask'])
        samples.append(sample)
    return views, samples


def train_step(name, model, optimizer, views, samples, amp_dtype=None):
    # MAE's loss takes one batch of images, SiameseIM's the list of views
    inputs = views[0] if name == 'mae' else views
    optimizer.zero_grad()
    with torch.autocast(
            device_type=views[0].device.type,
            dtype=amp_dtype or torch.float32,
            enabled=amp_dtype is not None):
        losses = model.loss(inputs, samples)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    optimizer.step()
    return loss


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='markdown file to write')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--arch', default='b')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--amp', choices=['bf16', 'fp16', 'off'])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='2-layer 64-wide ViT, batch 2 (smoke run)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cuda = torch.device(args.device).type == 'cuda'
    if not cuda:
        torch.set_num_threads(args.threads)
    arch = QUICK_ARCH if args.quick else args.arch
    batch_size = args.batch_size or (2 if args.quick else (64 if cuda else 8))
    amp = args.amp or ('bf16' if cuda else 'off')
    amp_dtype = dict(bf16=torch.bfloat16, fp16=torch.float16).get(amp)
    # CosineEMA reads the schedule length from the message hub
    MessageHub.get_current_instance().update_info('max_iters', 1000)

    views, samples = make_batch(batch_size, args.img_size, args.patch_size,
                                args.device)
    cfgs = model_cfgs(arch, args.img_size, args.patch_size, args.quick)
    built = {name: build(cfg, args.device) for name, cfg in cfgs.items()}

    def step(name):
        model, optimizer = built[name]
        return lambda: train_step(name, model, optimizer, views, samples,
                                  amp_dtype)

    steps = {name: step(name) for name in built}
    times = measure.interleaved_timings(steps, args.warmup, args.repeats,
                                        args.device)
    rows, results = [], {}
    for name, (model, optimizer) in built.items():
        inputs = views[:1] if name == 'mae' else views
        peak = measure.peak_memory_bytes(steps[name], model, optimizer, inputs,
                                         args.device)
        flops = None if args.no_flops else measure.count_flops(steps[name])
        wall = measure.median(times[name]['wall'])
        cpu = measure.median(times[name]['cpu'])
        trainable = sum(p.numel() for p in model.parameters()
                        if p.requires_grad)
        results[name] = dict(wall=wall, cpu=cpu, peak=peak, flops=flops)
        rows.append([
            NAMES[name], f'{wall * 1000:.0f}', f'{cpu * 1000:.0f}',
            f'{batch_size / wall:.1f}', f'{peak / 2**20:.0f}',
            '-' if flops is None else f'{flops / 1e9:.1f}',
            f'{trainable / 1e6:.1f} / '
            f'{measure.count_parameters(model) / 1e6:.1f}'
        ])
    rows.append([
        'ratio SiameseIM / MAE',
        report.ratio(results['siameseim']['wall'], results['mae']['wall']),
        report.ratio(results['siameseim']['cpu'], results['mae']['cpu']), '',
        report.ratio(results['siameseim']['peak'], results['mae']['peak']),
        '' if args.no_flops else report.ratio(results['siameseim']['flops'],
                                              results['mae']['flops']), ''
    ])
    width = arch_settings(arch)['embed_dims']
    lines = ['# SiameseIM vs MAE: train-step cost', ''] + \
        report.machine_lines(args.device, REPO_ROOT) + [
            f'- command: `python benchmarks/speed/siameseim_vs_mae.py '
            f'{" ".join(argv if argv is not None else sys.argv[1:])}`',
            f'- encoder: ViT {args.arch if not args.quick else QUICK_ARCH} '
            f'(width {width}), {args.img_size} px, patch {args.patch_size}; '
            f'batch {batch_size} images; autocast {amp}; '
            f'{args.warmup} warm-up + {args.repeats} timed steps each, '
            f'interleaved; load average {report.load_average()}',
            '', report.table([
                'model', 'step ms (median wall)', 'process CPU ms (median)',
                'images/s (wall)', 'peak MiB',
                'GFLOPs/step', 'params M (trainable / all)'
            ], rows), ''
        ]
    text = '\n'.join(lines)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return results


if __name__ == '__main__':
    main()
