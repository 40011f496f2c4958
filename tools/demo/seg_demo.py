# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Paint the predicted segments of an unsupervised segmentor over images.

    python tools/demo/seg_demo.py IMAGE_OR_DIR CONFIG CHECKPOINT \
        --out-dir DIR [--device cpu] [--opacity 0.5] [--max-side 4096]

Writes ``DIR/<image stem>.png``: the image with one colour per predicted
cluster (cluster ids are not class names; the palette is arbitrary but
fixed). Names stay unique: images that share a stem (``a.jpg``, ``a.png``)
become ``a_jpg.png`` and ``a_png.png``, and an output never replaces an
input image. The checkpoint must hold every tensor of the model (a
pre-training checkpoint would paint random heads). Uses mmseg's
``init_model``/``inference_model`` and ``SegLocalVisualizer`` through
``densesiam_mm.apis``.

Size guard: an image whose longer side exceeds ``--max-side`` (default
4096 px) is downscaled to it before inference and painted at that size (a
message says so): the painted prediction holds a score per cluster and
pixel, many GB for a 10000x10000 photo. An image with a side under 32 px
(the backbone's output stride) is refused with an error naming it. In a
folder, entries with an image suffix that are folders (``sub.jpg/``) are
skipped with a message. Outputs are written atomically and never replace
the config, the checkpoint or an input image (same path or a link).
"""
import argparse
import os
import os.path as osp
import sys
from collections import Counter

import cv2
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
    parser.add_argument(
        '--max-side',
        type=int,
        default=4096,
        help='downscale images whose longer side exceeds this (pixels)')
    return parser.parse_args()


def list_images(path):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no image or folder at {path}')
    files = []
    for name in sorted(os.listdir(path)):
        if not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        entry = osp.join(path, name)
        if not osp.isfile(entry):
            print(
                f'skipped {entry}: a folder (or not a regular file), not '
                'an image',
                file=sys.stderr)
            continue
        files.append(entry)
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

    def is_input(out):
        return osp.realpath(out) in inputs or (
            osp.exists(out) and any(osp.samefile(out, p)
                                    for p in images))  # e.g. a hard link

    used, paths = set(), []
    for path in images:
        stem, ext = osp.splitext(osp.basename(path))
        name = stem if stems[stem] == 1 else \
            f'{stem}_{ext.lstrip(".").lower()}'
        out, num = osp.join(out_dir, name + '.png'), 1
        while out in used or is_input(out):
            out, num = osp.join(out_dir, f'{name}_{num}.png'), num + 1
        used.add(out)
        paths.append(out)
    return paths


def main():
    args = parse_args()
    if not 0 < args.opacity <= 1:
        raise ValueError(f'--opacity must be in (0, 1], got {args.opacity}')
    if args.max_side < 32:
        raise ValueError(f'--max-side must be >= 32 (pixels), got '
                         f'{args.max_side}')
    from mmseg.visualization import SegLocalVisualizer

    from densesiam_mm.apis import (inference_unsup_segmentor,
                                   init_unsup_segmentor)
    from densesiam_mm.apis.inference import (check_demo_image_size,
                                             load_demo_image)
    from densesiam_mm.checkpoint import (refuse_to_overwrite_inputs,
                                         save_bytes_atomically)
    images = list_images(args.images)
    if not images:
        raise FileNotFoundError(f'no image file in {args.images}')
    for path in images:  # before any work: headers only
        check_demo_image_size(path, max_side=args.max_side)
    outputs = output_paths(images, args.out_dir)
    for out_file in outputs:
        refuse_to_overwrite_inputs(out_file,
                                   [args.config, args.checkpoint, *images],
                                   '--out-dir')
    model = init_unsup_segmentor(args.config, args.checkpoint, args.device)
    visualizer = SegLocalVisualizer(
        name='seg_demo', save_dir=args.out_dir, alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    for path, out_file in zip(images, outputs):
        img, note = load_demo_image(path, max_side=args.max_side)
        if note:
            print(note, flush=True)
        # the file itself when unchanged (as mmseg reads it), else the
        # downscaled array (BGR, as mmcv.imread gives)
        result = inference_unsup_segmentor(model, img if note else path)
        visualizer.add_datasample(
            name=osp.basename(path),
            image=mmcv.bgr2rgb(img),
            data_sample=result,
            draw_gt=False,
            draw_pred=True,
            show=False,
            with_labels=False)
        ok, png = cv2.imencode('.png', mmcv.rgb2bgr(visualizer.get_image()))
        if not ok:
            raise OSError(f'cannot encode the overlay of {path} as PNG')
        save_bytes_atomically(out_file, png.tobytes())
        print(f'{path} -> {out_file}')


if __name__ == '__main__':
    main()
