# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Segment every image of a folder with an unsupervised segmentor.

    python tools/demo/segment_folder.py IMAGES CONFIG CHECKPOINT \
        --out-dir DIR [--device cpu] [--opacity 0.5] [--max-side 4096] \
        [--crf]

``IMAGES`` is searched recursively for files with a common image suffix
(any letter case). For each readable image it writes

- ``DIR/overlays/<path>.png``: the image with one colour per cluster;
- ``DIR/labels/<path>.png``: the cluster id of every pixel (an 8-bit
  paletted PNG at the image's size: pixel value = cluster id, shown in the
  overlay's colours);

where ``<path>`` is the image's path inside ``IMAGES`` without its suffix
(``a.jpg`` and ``a.png`` in one folder become ``a_jpg`` and ``a_png``), and
once for the folder

- ``DIR/summary.json``: the clusters' palette, per image its size, pixel
  count and area fraction of every cluster, the area fractions over all
  images, and the files that were skipped (unreadable, too small) with why;
- ``DIR/summary.csv``: one row per image, the area fraction of each
  cluster.

Unreadable files are skipped and counted (as in training), never fatal.
Cluster ids are not class names. ``--crf`` refines each prediction with a
fully connected CRF (needs the optional extra pydensecrf2: ``pip install
-r requirements/optional.txt -c requirements/constraints.txt``; see
docs/own_data.md). ``DIR`` may lie inside
``IMAGES``: it is not searched, nor is any earlier output folder (one with
``overlays/``, ``labels/`` and ``summary.json``). Outputs are written
atomically and never replace an input, the config or the checkpoint.
"""
import argparse
import csv
import io
import json
import os
import os.path as osp
import sys
import time
from collections import Counter

import numpy as np

#: suffixes searched, compared in lower case
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')
#: dense-CRF settings (the usual ones of unsupervised segmentation work):
#: iterations, Gaussian (sxy, compat), bilateral (sxy, srgb, compat)
CRF_ITERS = 10
CRF_GAUSSIAN = (3, 3)
CRF_BILATERAL = (50, 13, 10)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'images',
        help='folder of images (searched '
        'recursively) or one image file')
    parser.add_argument('config', help='config of the segmentor')
    parser.add_argument('checkpoint', help='checkpoint of the segmentor')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the cluster colours in the overlays, in (0, 1]')
    parser.add_argument(
        '--max-side',
        type=int,
        default=4096,
        help='downscale images whose longer side exceeds this (pixels)')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='refine with a dense CRF (needs pydensecrf2)')
    args = parser.parse_args()
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must be in (0, 1], got {args.opacity}')
    if args.max_side < 32:
        parser.error(f'--max-side must be >= 32 (pixels), got '
                     f'{args.max_side}')
    return args


def is_output_dir(folder: str) -> bool:
    """Whether ``folder`` holds the outputs of an earlier run (overlays,
    labels and summary.json): never read as input."""
    return all(
        osp.exists(osp.join(folder, name))
        for name in ('overlays', 'labels', 'summary.json'))


def find_images(root: str, skip_dir: str = None) -> list:
    """Image files under ``root`` (recursive, sorted, suffix in any case),
    as paths relative to ``root``; ``skip_dir`` is not searched.

    Raises:
        FileNotFoundError: ``root`` is missing or holds no image file.
    """
    if osp.isfile(root):
        return [osp.basename(root)]
    if not osp.isdir(root):
        raise FileNotFoundError(f'no image or folder at {root}')
    skip = osp.realpath(skip_dir) if skip_dir else None
    found = []
    for folder, subdirs, files in os.walk(root):
        subdirs[:] = sorted(
            d for d in subdirs if osp.realpath(osp.join(folder, d)) != skip
            and not is_output_dir(osp.join(folder, d)))
        for name in sorted(files):
            path = osp.join(folder, name)
            if name.lower().endswith(IMAGE_SUFFIXES) and osp.isfile(path):
                found.append(osp.relpath(path, root))
    if not found:
        raise FileNotFoundError(
            f'no image file ({", ".join(IMAGE_SUFFIXES)}, any case) in '
            f'{root} or its sub-folders')
    return found


def output_names(rel_paths: list) -> list:
    """``<path>.png`` for every relative image path, all distinct: the
    suffix joins the name (``a_jpg.png``) when two images of a folder share
    their name without suffix."""
    stems = Counter(osp.splitext(p)[0] for p in rel_paths)
    names, used = [], set()
    for rel in rel_paths:
        stem, ext = osp.splitext(rel)
        name = stem if stems[stem] == 1 else \
            f'{stem}_{ext.lstrip(".").lower()}'
        out, num = name + '.png', 1
        while out in used:
            out, num = f'{name}_{num}.png', num + 1
        used.add(out)
        names.append(out)
    return names


def refuse_input_clash(outputs: list, inputs: list) -> None:
    """Raise before any work when an output is one of the inputs (same
    path, link or hard link)."""

    def identity(path):
        try:
            info = os.stat(path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    real_inputs = {osp.realpath(p) for p in inputs}
    ids = {identity(p) for p in inputs} - {None}
    for out in outputs:
        if osp.realpath(out) in real_inputs or identity(out) in ids:
            raise ValueError(
                f'--out-dir: {out} would replace the input {out}; choose '
                'another --out-dir')


def crf_refine(rgb: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Dense-CRF labels ``(H, W)`` from the image ``(H, W, 3)`` uint8 RGB
    and cluster probabilities ``(N, H, W)``."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    num, height, width = probs.shape
    crf = dcrf.DenseCRF2D(width, height, num)
    crf.setUnaryEnergy(
        np.ascontiguousarray(unary_from_softmax(probs.astype(np.float32))))
    crf.addPairwiseGaussian(sxy=CRF_GAUSSIAN[0], compat=CRF_GAUSSIAN[1])
    crf.addPairwiseBilateral(
        sxy=CRF_BILATERAL[0],
        srgb=CRF_BILATERAL[1],
        rgbim=np.ascontiguousarray(rgb),
        compat=CRF_BILATERAL[2])
    q = np.asarray(crf.inference(CRF_ITERS)).reshape(num, height, width)
    return q.argmax(axis=0)


def index_png(labels: np.ndarray, palette: list) -> bytes:
    """An 8-bit paletted PNG whose pixel values are ``labels`` ``(H, W)``."""
    from PIL import Image
    img = Image.fromarray(labels.astype(np.uint8), mode='P')
    img.putpalette([c for color in palette for c in color])
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def overlay(rgb: np.ndarray, labels: np.ndarray, palette: np.ndarray,
            opacity: float) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB: the image blended with the cluster colours
    (``palette`` ``(N, 3)``) of ``labels`` ``(H, W)``."""
    colors = palette[labels].astype(np.float32)
    mixed = (1 - opacity) * rgb.astype(np.float32) + opacity * colors
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def write_summaries(out_dir: str, summary: dict) -> None:
    from densesiam_mm.checkpoint import save_bytes_atomically
    save_bytes_atomically(
        osp.join(out_dir, 'summary.json'),
        json.dumps(summary, indent=1).encode())
    num = summary['num_clusters']
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['image', 'width', 'height'] +
                    [f'cluster_{i}' for i in range(num)])
    for item in summary['images']:
        writer.writerow([item['image'], item['width'], item['height']] +
                        [f'{f:.6f}' for f in item['fraction']])
    save_bytes_atomically(
        osp.join(out_dir, 'summary.csv'),
        buf.getvalue().encode())


def main():
    args = parse_args()
    if args.crf:
        try:
            import pydensecrf.densecrf  # noqa: F401
        except ImportError:
            sys.exit('error: --crf needs the optional extra pydensecrf2: '
                     'pip install -r requirements/optional.txt -c '
                     'requirements/constraints.txt (builds from source, '
                     'about 1-2.5 minutes; docs/own_data.md)')
    import mmcv
    import torch

    from densesiam_mm.apis import (cluster_palette, inference_unsup_segmentor,
                                   init_unsup_segmentor)
    from densesiam_mm.apis.inference import load_demo_image
    from densesiam_mm.apis.tool_io import save_image_atomically
    from densesiam_mm.checkpoint import save_bytes_atomically

    root = args.images if osp.isdir(args.images) else \
        osp.dirname(args.images) or '.'
    rel_paths = find_images(args.images, skip_dir=args.out_dir)
    names = output_names(rel_paths)
    inputs = [osp.join(root, p) for p in rel_paths]
    overlays = [osp.join(args.out_dir, 'overlays', n) for n in names]
    indices = [osp.join(args.out_dir, 'labels', n) for n in names]
    refuse_input_clash(
        overlays + indices +
        [osp.join(args.out_dir, f'summary.{e}') for e in ('json', 'csv')],
        [args.config, args.checkpoint, *inputs])

    model = init_unsup_segmentor(args.config, args.checkpoint, args.device)
    num = len(model.dataset_meta['classes'])
    if num > 256:
        raise ValueError(f'{args.config}: {num} clusters do not fit the '
                         '8-bit index PNGs (at most 256)')
    palette = cluster_palette(num)
    palette_array = np.asarray(palette, dtype=np.uint8)
    images, skipped = [], []
    total = np.zeros(num, dtype=np.int64)
    start = time.time()
    for i, (rel, path) in enumerate(zip(rel_paths, inputs)):
        try:
            img, note = load_demo_image(path, max_side=args.max_side)
        except (OSError, ValueError) as err:
            skipped.append(dict(image=rel, reason=str(err)))
            print(
                f'[{i + 1}/{len(inputs)}] skipped {path}: {err}',
                file=sys.stderr,
                flush=True)
            continue
        if note:
            print(note, flush=True)
        with torch.no_grad():
            result = inference_unsup_segmentor(model, img)
        rgb = mmcv.bgr2rgb(img)
        if args.crf:
            probs = result.seg_logits.data.float().softmax(dim=0)
            labels = crf_refine(rgb, probs.cpu().numpy())
        else:
            labels = result.pred_sem_seg.data[0].cpu().numpy()
        counts = np.bincount(labels.ravel(), minlength=num)
        total += counts
        save_image_atomically(
            overlay(rgb, labels, palette_array, args.opacity), overlays[i])
        save_bytes_atomically(indices[i], index_png(labels, palette))
        images.append(
            dict(
                image=rel,
                overlay=osp.relpath(overlays[i], args.out_dir),
                index=osp.relpath(indices[i], args.out_dir),
                width=int(labels.shape[1]),
                height=int(labels.shape[0]),
                pixels=counts.tolist(),
                fraction=(counts / counts.sum()).round(6).tolist()))
        print(f'[{i + 1}/{len(inputs)}] {path} -> {overlays[i]}', flush=True)
    summary = dict(
        images_folder=osp.abspath(args.images),
        config=args.config,
        checkpoint=args.checkpoint,
        crf=args.crf,
        num_clusters=num,
        palette=palette,
        num_images=len(images),
        num_skipped=len(skipped),
        fraction=(total / max(total.sum(), 1)).round(6).tolist(),
        images=images,
        skipped=skipped)
    write_summaries(args.out_dir, summary)
    print(f'segmented {len(images)} of {len(inputs)} images in '
          f'{time.time() - start:.1f} s ({len(skipped)} skipped: unreadable '
          f'or too small); overlays in {osp.join(args.out_dir, "overlays")}, '
          f'cluster ids in {osp.join(args.out_dir, "labels")}, areas in '
          f'{osp.join(args.out_dir, "summary.json")} and summary.csv')
    if not images:
        sys.exit('error: no image could be read')


if __name__ == '__main__':
    main()
