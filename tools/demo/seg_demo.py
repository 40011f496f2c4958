# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Paint the predicted segments of an unsupervised segmentor over images.

    python tools/demo/seg_demo.py IMAGE_OR_DIR CONFIG CHECKPOINT \
        --out-dir DIR [--device cpu] [--opacity 0.5]

Writes ``DIR/<image stem>.png``: the image with one colour per predicted
cluster (cluster ids are not class names; the palette is arbitrary but
fixed). Names stay unique: images that share a stem (``a.jpg``, ``a.png``)
become ``a_jpg.png`` and ``a_png.png``, and an output never replaces an
input image. The checkpoint must hold every tensor of the model (a
pre-training checkpoint would paint random heads). Uses mmseg's
``init_model``/``inference_model`` and ``SegLocalVisualizer`` through
``densesiam_mm.apis``.
"""
import argparse
import os
import os.path as osp
from collections import Counter

import mmcv

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images', help='an image file or a folder of images')
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the painted segments, in (0, 1]')
    return parser.parse_args()


def list_images(path):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no image or folder at {path}')
    files = sorted(
        osp.join(path, name) for name in os.listdir(path)
        if name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise FileNotFoundError(f'no image ({", ".join(IMAGE_SUFFIXES)}) '
                                f'in {path}')
    return files


def output_paths(images, out_dir):
    """One output ``.png`` per image in ``out_dir``, all distinct.

    ``<stem>.png``; ``<stem>_<ext>.png`` for images sharing a stem; a
    ``_<n>`` suffix when that is still taken or would replace an input.
    """
    stems = Counter(osp.splitext(osp.basename(p))[0] for p in images)
    inputs = {osp.realpath(p) for p in images}
    used, paths = set(), []
    for path in images:
        stem, ext = osp.splitext(osp.basename(path))
        name = stem if stems[stem] == 1 else \
            f'{stem}_{ext.lstrip(".").lower()}'
        out, num = osp.join(out_dir, name + '.png'), 1
        while out in used or osp.realpath(out) in inputs:
            out, num = osp.join(out_dir, f'{name}_{num}.png'), num + 1
        used.add(out)
        paths.append(out)
    return paths


def main():
    args = parse_args()
    if not 0 < args.opacity <= 1:
        raise ValueError(f'--opacity must be in (0, 1], got {args.opacity}')
    from mmseg.visualization import SegLocalVisualizer

    from densesiam_mm.apis import (inference_unsup_segmentor,
                                   init_unsup_segmentor)
    images = list_images(args.images)
    model = init_unsup_segmentor(args.config, args.checkpoint, args.device)
    visualizer = SegLocalVisualizer(
        name='seg_demo',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=args.out_dir,
        alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    for path, out_file in zip(images, output_paths(images, args.out_dir)):
        result = inference_unsup_segmentor(model, path)
        visualizer.add_datasample(
            name=osp.basename(path),
            image=mmcv.imread(path, channel_order='rgb'),
            data_sample=result,
            draw_gt=False,
            draw_pred=True,
            show=False,
            with_labels=False,
            out_file=out_file)
        print(f'{path} -> {out_file}')


if __name__ == '__main__':
    main()
