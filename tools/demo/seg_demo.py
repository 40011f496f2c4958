# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Paint the predicted segments of an unsupervised segmentor over images.

    python tools/demo/seg_demo.py IMAGE_OR_DIR CONFIG CHECKPOINT \
        --out-dir DIR [--device cpu] [--opacity 0.5]

Writes ``DIR/<image stem>.png``: the image with one colour per predicted
cluster (cluster ids are not class names; the palette is arbitrary but
fixed). Uses mmseg's ``init_model``/``inference_model`` and
``SegLocalVisualizer`` through ``densesiam_mm.apis``.
"""
import argparse
import os
import os.path as osp

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
        '--opacity', type=float, default=0.5,
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
        name='seg_demo', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=args.out_dir, alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    for path in images:
        result = inference_unsup_segmentor(model, path)
        out_file = osp.join(args.out_dir,
                            osp.splitext(osp.basename(path))[0] + '.png')
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
