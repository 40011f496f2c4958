# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Does a SiameseIM predictor use the relative position code?

    python tools/analysis/siameseim_position_check.py CKPT \
        [--config CONFIG (default: the CPU demo config)] [--images DIR] \
        [--num-images 96] [--batch-size 32] [--seed 0]

Builds the model of ``--config``, loads ``CKPT`` (``random``: the config's
initialisation, target = online), makes view pairs of real images with the
config's own train pipeline (seeded) and computes the SiameseIM loss, without
any update, with the queries' relative position code

- ``true``: of the pair's own boxes and flips (what training uses);
- ``other image``: of another image's pair in the batch (rolled by one);
- ``same view``: as if view 2 were view 1 (the absolute table, no geometry).

A predictor that uses the geometry has a clearly lower loss with ``true``.
Prints a markdown table (mean loss over the batches).
"""
import argparse
import glob
import math
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import densesiam_mm  # noqa: F401
from densesiam_mm.checkpoint import load_checkpoint_file
from densesiam_mm.models.utils import (relative_position_code,
                                       view_geometry_from_samples)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO_ROOT, 'configs', 'siameseim',
                'siameseim_vit-tiny-p8_1xb32-coslr-200i_camvid-64px.py')
SHARED = osp.join(REPO_ROOT, '..', 'shared', 'data')


def build_model(cfg, checkpoint: str):
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoint == 'random':
        model.target_net.update_parameters(  # step 0: copy online -> target
            torch.nn.Sequential(model.backbone, model.neck))
    else:
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            sys.exit(f'error: {checkpoint} does not fit the config: missing '
                     f'{missing[:4]}, unexpected {unexpected[:4]}')
    return model.train()  # token BN normalises with batch statistics


@torch.no_grad()
def losses(model, data):
    """Loss for each code variant on one collated batch."""
    batch = model.data_preprocessor(data, training=True)
    views, samples = batch['inputs'], batch['data_samples']
    mask = model.view_mask(samples, views[0].device)
    grid = math.isqrt(mask.size(1))
    online = model.neck(model.backbone(views[0], mask))[0]
    target = model.head.normalize_target(model.target_net(views[1])[0][:, 1:])
    boxes, flips = view_geometry_from_samples(samples, views[0].device)
    dims = model.head.embed_dims
    codes = {
        'true':
        relative_position_code(boxes[:, 0], flips[:, 0], boxes[:, 1],
                               flips[:, 1], grid, dims),
        'other image':
        relative_position_code(boxes[:, 0], flips[:, 0], boxes[:,
                                                               1].roll(1, 0),
                               flips[:, 1].roll(1, 0), grid, dims),
        'same view':
        relative_position_code(boxes[:, 0], flips[:, 0], boxes[:, 0],
                               flips[:, 0], grid, dims),
    }
    return {
        name: model.head.loss(model.head(online, mask, code), target).item()
        for name, code in codes.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help="checkpoint file or 'random'")
    parser.add_argument('--config', default=DEMO)
    parser.add_argument(
        '--images', default=osp.join(SHARED, 'camvid', 'images', 'val'))
    parser.add_argument('--num-images', type=int, default=96)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    files = sorted(
        glob.glob(osp.join(args.images, '*.jpg')) +
        glob.glob(osp.join(args.images, '*.png')))
    if not files:
        sys.exit(f'error: no .jpg/.png images in {args.images}')
    files = files[:args.num_images]
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(args.config)
    MessageHub.get_current_instance().update_info('max_iters', 1)
    torch.manual_seed(args.seed)
    model = build_model(cfg, args.checkpoint)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    np.random.seed(args.seed)
    totals, count = {}, 0
    for start in range(0, len(files), args.batch_size):
        chunk = files[start:start + args.batch_size]
        if len(chunk) < 2:
            break
        data = default_collate([pipeline(dict(img_path=f)) for f in chunk])
        for name, value in losses(model, data).items():
            totals[name] = totals.get(name, 0.) + value * len(chunk)
        count += len(chunk)
    print('| checkpoint | images | ' + ' | '.join(totals) + ' |')
    print('| --- | --- | ' + ' | '.join('---' for _ in totals) + ' |')
    print(f'| {args.checkpoint} | {count} | ' +
          ' | '.join(f'{v / count:.4f}' for v in totals.values()) + ' |')


if __name__ == '__main__':
    main()
