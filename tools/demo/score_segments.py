# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Score segment_folder.py's cluster maps against label maps.

    python tools/demo/score_segments.py OUT_DIR LABEL_DIR --num-classes C \
        [--ignore 255 ...] [--matching hungarian|majority]

``OUT_DIR`` is a ``tools/demo/segment_folder.py`` output folder: every
``labels/<path>.png`` (cluster ids) is compared with ``LABEL_DIR/<path>.png``
(class ids ``0..C-1``; the ids given to ``--ignore`` are skipped, e.g.
CamVid's "unlabelled" 11) after matching clusters to classes
(``HungarianIoUMetric``, the metric of the unsupervised segmentation
configs). Prints pixel accuracy, mIoU and the per-class table. A missing
label file, or one of another size, is an error naming it.
"""
import argparse
import json
import os.path as osp

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder of segment_folder.py')
    parser.add_argument('label_dir', help='folder of label PNGs')
    parser.add_argument(
        '--num-classes', type=int, required=True, help='classes C')
    parser.add_argument(
        '--ignore',
        type=int,
        nargs='+',
        default=[255],
        help='label ids not scored (default 255)')
    parser.add_argument(
        '--matching',
        choices=['hungarian', 'majority'],
        default='hungarian',
        help='one-to-one (paper protocol) or many-to-one matching')
    return parser.parse_args()


def main():
    args = parse_args()
    import torch
    from PIL import Image

    import densesiam_mm  # noqa: F401
    from densesiam_mm.evaluation import HungarianIoUMetric
    summary_file = osp.join(args.out_dir, 'summary.json')
    if not osp.isfile(summary_file):
        raise FileNotFoundError(f'{summary_file}: not an output folder of '
                                'tools/demo/segment_folder.py')
    with open(summary_file) as f:
        summary = json.load(f)
    metric = HungarianIoUMetric(
        num_classes=args.num_classes,
        num_clusters=summary['num_clusters'],
        matching=args.matching)
    metric.dataset_meta = dict(
        classes=[f'class {i}' for i in range(args.num_classes)])
    for item in summary['images']:
        pred_file = osp.join(args.out_dir, item['index'])
        label_file = osp.join(args.label_dir,
                              osp.splitext(item['image'])[0] + '.png')
        if not osp.isfile(label_file):
            raise FileNotFoundError(
                f'no label map {label_file} for {item["image"]}')
        label = np.array(Image.open(label_file)).astype(np.int64)
        if label.ndim != 2:
            raise ValueError(f'{label_file}: not a single-channel label map')
        label[np.isin(label, args.ignore)] = 255
        pred = np.array(Image.open(pred_file)).astype(np.int64)
        if pred.shape != label.shape:
            raise ValueError(f'{label_file} is {label.shape[::-1]} (WxH), '
                             f'the segment map {pred.shape[::-1]}')
        metric.process({}, [
            dict(
                pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                gt_sem_seg=dict(data=torch.from_numpy(label)[None]),
                img_path=item['image'])
        ])
    results = metric.evaluate(len(summary['images']))
    print(f'{args.out_dir}: {len(summary["images"])} images, aAcc '
          f'{results["aAcc"]:.2f}, mIoU {results["mIoU"]:.2f} '
          f'({args.matching} matching, crf={summary.get("crf")})')


if __name__ == '__main__':
    main()
