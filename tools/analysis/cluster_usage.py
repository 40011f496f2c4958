# Copyright (c) densesiam_mm contributors. All rights reserved.
"""How many clusters an unsupervised segmentor actually uses.

    python tools/analysis/cluster_usage.py CONFIG CHECKPOINT \
        [--images DIR] [--num-images 20] [--device cpu]

Runs the model (``densesiam_mm.apis``) on the first images of the config's
test set (or of ``--images``) and prints the share of pixels predicted as
each cluster, the number of clusters holding at least 1 % of the pixels and
the share of the largest one: a quick check for collapse (one cluster
taking most pixels) that mIoU alone does not show.
"""
import argparse
import os
import os.path as osp

import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--images',
        help='folder of images (default: the '
        'test set image folder of the config)')
    parser.add_argument('--num-images', type=int, default=20)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def test_image_folder(cfg) -> str:
    dataset = cfg.test_dataloader.dataset
    return osp.join(
        dataset.get('data_root', ''), dataset.data_prefix['img_path'])


def main():
    args = parse_args()
    from densesiam_mm.apis import (inference_unsup_segmentor,
                                   init_unsup_segmentor)
    model = init_unsup_segmentor(args.config, args.checkpoint, args.device)
    folder = args.images or test_image_folder(model.cfg)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'no image folder at {folder}')
    names = sorted(os.listdir(folder))[:args.num_images]
    num_clusters = len(model.dataset_meta['classes'])
    counts = torch.zeros(num_clusters, dtype=torch.float64)
    for name in names:
        pred = inference_unsup_segmentor(model, osp.join(folder, name))
        counts += torch.bincount(
            pred.pred_sem_seg.data.flatten().cpu(),
            minlength=num_clusters).double()
    shares = counts / counts.sum()
    print(f'{len(names)} images from {folder}')
    print('pixel share per cluster (%): ' + ' '.join(f'{100 * s:.1f}'
                                                     for s in shares.tolist()))
    print(f'clusters with >= 1 % of the pixels: '
          f'{int((shares >= 0.01).sum())} / {num_clusters}; largest '
          f'cluster: {100 * shares.max():.1f} %')


if __name__ == '__main__':
    main()
