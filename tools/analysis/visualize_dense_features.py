# Copyright (c) densesiam_mm contributors. All rights reserved.
"""PCA of dense features as RGB, for several checkpoints side by side.

    python tools/analysis/visualize_dense_features.py IMAGE \\
        --checkpoints random SIMSIAM.pth DENSESIAM.pth \\
        [--names random SimSiam DenseSiam] [--stage 3] [--scale 640 480] \\
        [--seg-config CFG --seg-checkpoint SEG.pth] [--height 240] \\
        [--out features.png]

For each checkpoint (anything ``tools/analysis/dense_probe.py`` accepts,
``random`` for a randomly initialised ResNet) the frozen backbone's
features of one stage (``--stage 3``: C5) of IMAGE are projected on their
first three principal components (fitted on that image's pixels, per
checkpoint), each component stretched to its 1st-99th percentile and shown
as R, G, B. Pixels that look alike to the network get alike colours: a
network whose features follow the scene's regions shows them as uniform
areas. With ``--seg-checkpoint`` the DenseSiam-Seg (or PiCIE) cluster map
of the image is added as a last panel.

``--out`` is refused before any work when it is one of the inputs (image,
checkpoints; also through a symlink or a hard link), and written
atomically.
"""
import argparse
import os.path as osp

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer

from densesiam_mm.apis.tool_io import check_image_out, save_image_atomically

MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def build_backbone(checkpoint: str):
    """A frozen mmseg ResNet (depth read from the weights) with the
    checkpoint's backbone weights, or random weights (seed 0)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    import densesiam_mm  # noqa: F401
    from densesiam_mm.checkpoint import read_model_weights
    from densesiam_mm.models.probes import (backbone_state_dict,
                                            load_backbone_weights,
                                            resnet_depth)
    depth = 18
    if checkpoint != 'random':
        depth = resnet_depth(
            backbone_state_dict(read_model_weights(checkpoint))) or 18
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        backbone = MODELS.build(
            dict(
                type='ResNet',
                depth=depth,
                out_indices=(0, 1, 2, 3),
                norm_cfg=dict(type='BN')))
        backbone.init_weights()
    if checkpoint != 'random':
        load_backbone_weights(backbone, checkpoint)
    backbone.eval()  # mmseg's ResNet.train() returns None: no chaining
    return backbone


@torch.no_grad()
def dense_features(backbone, image_rgb: np.ndarray, stage: int):
    """``(C, h, w)`` features of one stage of an RGB uint8 image."""
    x = (image_rgb.astype(np.float32) - MEAN) / STD
    x = torch.from_numpy(x).permute(2, 0, 1)[None]
    return backbone(x)[stage][0]


def pca_rgb(feats: torch.Tensor, size) -> np.ndarray:
    """First three principal components of ``(C, h, w)`` features as an
    ``(H, W, 3)`` uint8 image of ``size = (H, W)``.

    Components are fitted on the image's pixels (mean removed), each
    stretched to its 1st-99th percentile; the map is upsampled bilinearly.
    """
    channels, height, width = feats.shape
    pixels = feats.reshape(channels, -1).T.double()
    pixels = pixels - pixels.mean(0)
    _, _, components = torch.linalg.svd(pixels, full_matrices=False)
    projected = pixels @ components[:3].T  # (h * w, 3)
    low = torch.quantile(projected, 0.01, dim=0)
    high = torch.quantile(projected, 0.99, dim=0)
    projected = ((projected - low) / (high - low).clamp(min=1e-12)).clamp(0, 1)
    rgb = projected.T.reshape(1, 3, height, width).float()
    rgb = F.interpolate(rgb, size, mode='bilinear', align_corners=False)
    return (rgb[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def cluster_map(seg_config: str, seg_checkpoint: str, image_path: str,
                size) -> np.ndarray:
    """The DenseSiam-Seg / PiCIE cluster map of an image, coloured."""
    from densesiam_mm.apis import (inference_unsup_segmentor,
                                   init_unsup_segmentor)
    model = init_unsup_segmentor(seg_config, seg_checkpoint)
    result = inference_unsup_segmentor(model, image_path)
    clusters = result.pred_sem_seg.data[0].cpu().numpy()
    palette = np.array(model.dataset_meta['palette'], np.uint8)
    painted = palette[clusters]
    return mmcv.imresize(painted, (size[1], size[0]), interpolation='nearest')


def render(panels, out_file: str) -> np.ndarray:
    """Panels ``[(title, (H, W, 3) RGB)]`` in one row with titles."""
    height = max(p.shape[0] for _, p in panels)
    gap, top = 8, 24
    width = sum(p.shape[1] for _, p in panels) + gap * (len(panels) - 1)
    canvas = np.full((height + top, width, 3), 255, np.uint8)
    offsets, x = [], 0
    for _, panel in panels:
        canvas[top:top + panel.shape[0], x:x + panel.shape[1]] = panel
        offsets.append(x)
        x += panel.shape[1] + gap
    visualizer = Visualizer(image=canvas)
    for (title, _), offset in zip(panels, offsets):
        visualizer.draw_texts(
            title, torch.tensor([offset + 4, 3]), colors='k', font_sizes=11)
    image = visualizer.get_image()
    if out_file:
        save_image_atomically(image, out_file)
    return image


def input_files(args) -> list:
    """Every file the tool reads: the image, checkpoints, seg config and
    checkpoint."""
    files = [args.image, args.seg_config, args.seg_checkpoint]
    files += [c for c in args.checkpoints if c != 'random']
    return [f for f in files if f]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image')
    parser.add_argument(
        '--checkpoints',
        nargs='+',
        required=True,
        help="checkpoint files, or 'random'")
    parser.add_argument('--names', nargs='+', help='panel titles')
    parser.add_argument(
        '--stage',
        type=int,
        default=3,
        help='backbone output (3: C5, stride 32)')
    parser.add_argument(
        '--scale',
        type=int,
        nargs=2,
        default=(640, 480),
        metavar=('W', 'H'),
        help='network input size')
    parser.add_argument('--seg-config')
    parser.add_argument('--seg-checkpoint')
    parser.add_argument(
        '--height',
        type=int,
        default=None,
        help='display height of the panels (default: the '
        'image\'s)')
    parser.add_argument('--out', default='dense_features.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        check_image_out(args.out, input_files(args))
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    names = args.names or [
        'random' if c == 'random' else osp.splitext(osp.basename(c))[0]
        for c in args.checkpoints
    ]
    if len(names) != len(args.checkpoints):
        raise SystemExit('error: give one --names entry per checkpoint')
    image = mmcv.imread(args.image, channel_order='rgb')
    net_input = mmcv.imresize(image, tuple(args.scale))
    if args.height:
        image = mmcv.imrescale(image, args.height / image.shape[0])
    shown_size = image.shape[:2]
    panels = [('image', image)]
    from densesiam_mm.checkpoint import CheckpointFileError
    for name, checkpoint in zip(names, args.checkpoints):
        try:
            backbone = build_backbone(checkpoint)
        except CheckpointFileError as err:
            raise SystemExit(f'error: {err}')
        feats = dense_features(backbone, net_input, args.stage)
        panels.append(
            (f'{name} (C{args.stage + 2} PCA)', pca_rgb(feats, shown_size)))
    if args.seg_checkpoint:
        if not args.seg_config:
            raise SystemExit('error: --seg-checkpoint needs --seg-config')
        panels.append(('DenseSiam-Seg clusters',
                       cluster_map(args.seg_config, args.seg_checkpoint,
                                   args.image, shown_size)))
    render(panels, args.out)
    print(
        f'{args.out}: {len(panels)} panels ({", ".join(n for n, _ in panels)})'
    )


if __name__ == '__main__':
    main()
