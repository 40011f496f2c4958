# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Draw the PixSim correspondences of two augmented views of an image.

    python tools/analysis/visualize_correspondence.py IMAGE \\
        [--config CONFIG (default: the 300-iteration CamVid DenseSiam
        config)] \\
        [--grid-size 7] [--seed 0] [--out correspondence.png]

Runs the config's two-view pipeline (``MultiViewWithGeometry``: crop box
and flip of each view recorded) on IMAGE and draws, side by side, the
original image with both crop boxes, view 1 and view 2 (shown enlarged to
the height of the original), and the ``K x K`` points PixSim compares,
in the same colour in every panel. The points come from the one geometry
module (``densesiam_mm.models.utils.geometry``): the grid of the boxes'
intersection in original-image pixels, mapped into each view by the same
``grid_sample`` coordinates the loss uses (flip-aware). A flipped view is
labelled; its points appear mirrored.

``--out`` is refused before any work when it is the input image or config
(also through a symlink or a hard link), and written atomically.
"""
import argparse
import copy
import os.path as osp
from typing import Dict

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.visualization import Visualizer

from densesiam_mm.apis.tool_io import check_image_out, save_image_atomically

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'densesiam',
    'densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py')


def two_view_pipeline(cfg: Config):
    """The config's train pipeline up to its ``MultiViewWithGeometry``
    (loading and the two views; packing is not needed)."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope

    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t.get('type') for t in pipeline]
    if 'MultiViewWithGeometry' not in types:
        raise ValueError(
            'the config\'s train pipeline has no MultiViewWithGeometry '
            f'(transforms: {types}); it makes no view pairs to draw.')
    steps = copy.deepcopy(pipeline[:types.index('MultiViewWithGeometry') + 1])
    import densesiam_mm  # noqa: F401  (registers the transforms)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose(steps)


def correspondence_points(view_boxes: np.ndarray, view_flips: np.ndarray,
                          view_sizes, grid_size: int) -> Dict[str, np.ndarray]:
    """Coordinates to draw, from the geometry module.

    Args:
        view_boxes (np.ndarray): ``(2, 4)`` crop boxes in original pixels.
        view_flips (np.ndarray): ``(2,)`` horizontal flips.
        view_sizes: ``(h, w)`` of each view.
        grid_size (int): K.

    Returns:
        dict: ``original`` ``(K*K, 2)`` points ``(x, y)`` in original
        pixels; ``view1`` and ``view2`` ``(K*K, 2)`` the same points in each
        view's pixels (pixel-edge convention: pixel ``i`` covers
        ``[i, i+1)``), from the ``grid_sample`` coordinates ``g`` as
        ``(g + 1) / 2 * size``; ``valid`` whether the views overlap.
    """
    from densesiam_mm.models.utils import view_correspondence
    boxes = torch.as_tensor(np.asarray(view_boxes), dtype=torch.float32)
    flips = torch.as_tensor(np.asarray(view_flips), dtype=torch.bool)
    corr = view_correspondence(boxes[0:1], flips[0:1], boxes[1:2], flips[1:2],
                               grid_size)
    out = dict(
        original=corr.points[0].reshape(-1, 2).numpy(),
        valid=bool(corr.valid[0]))
    for name, grid, (height, width) in (('view1', corr.grid1, view_sizes[0]),
                                        ('view2', corr.grid2, view_sizes[1])):
        size = torch.tensor([width, height], dtype=torch.float32)
        out[name] = ((grid[0].reshape(-1, 2) + 1) / 2 * size).numpy()
    return out


def point_colours(num: int):
    """``num`` distinct RGB colours (hue wheel)."""
    import colorsys
    return [
        tuple(int(255 * c) for c in colorsys.hsv_to_rgb(i / num, 0.9, 1.0))
        for i in range(num)
    ]


def make_views(image_path: str, cfg: Config, seed: int) -> dict:
    """Two views of ``image_path`` with their geometry (seeded)."""
    import random
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    results = two_view_pipeline(cfg)(dict(img_path=image_path))
    if results is None:
        raise RuntimeError(f'the pipeline dropped {image_path}')
    return results


def draw(results: dict,
         grid_size: int,
         out_file: str = None,
         display_height: int = None) -> dict:
    """Draw the panel; returns the drawn coordinates (see
    :func:`correspondence_points`) and, per panel, the offset and scale
    that placed them on the canvas (``canvas = offset + scale * xy``).
    Every panel is shown ``display_height`` pixels high (default: the
    original image's height)."""
    original = mmcv.imread(results['img_path'], channel_order='rgb')
    orig_scale = 1.0
    if display_height:
        orig_scale = display_height / original.shape[0]
        original = mmcv.imrescale(original, orig_scale)
    views = [mmcv.bgr2rgb(v) for v in results['img']]
    boxes, flips = results['view_boxes'], results['view_flips']
    points = correspondence_points(boxes, flips, [v.shape[:2] for v in views],
                                   grid_size)

    height = original.shape[0]
    gap = 12
    scales = [height / v.shape[0] for v in views]
    shown = [
        mmcv.imrescale(v, s, interpolation='nearest')
        for v, s in zip(views, scales)
    ]
    width = original.shape[1] + sum(s.shape[1] for s in shown) + 2 * gap
    canvas = np.full((height + 28, width, 3), 255, np.uint8)
    offsets = [
        0, original.shape[1] + gap,
        original.shape[1] + 2 * gap + shown[0].shape[1]
    ]
    canvas[28:, :original.shape[1]] = original
    for offset, view in zip(offsets[1:], shown):
        canvas[28:28 + view.shape[0], offset:offset + view.shape[1]] = view

    visualizer = Visualizer(image=canvas)
    colours = point_colours(len(points['original']))
    box_colours = [(255, 40, 40), (40, 110, 255)]
    for box, colour in zip(boxes, box_colours):
        visualizer.draw_bboxes(
            torch.tensor(box)[None] * orig_scale +
            torch.tensor([0, 28, 0, 28]),
            edge_colors=[colour],
            line_widths=3)
    panels = [('original', offsets[0], orig_scale)] + [
        (f'view{i + 1}', offsets[i + 1], scales[i]) for i in range(2)
    ]
    placed = {}
    for name, offset, scale in panels:
        xy = points[name] * scale + np.array([offset, 28])
        placed[name] = dict(offset=(offset, 28), scale=scale)
        visualizer.draw_points(
            torch.tensor(xy),
            colors=colours,
            sizes=np.full(len(xy), max(10, height // 9)))
    titles = ['original, boxes: view 1 red, view 2 blue'] + [
        f'view {i + 1}{" (flipped)" if flips[i] else ""}' for i in range(2)
    ]
    for title, offset in zip(titles, offsets):
        visualizer.draw_texts(
            title, torch.tensor([offset + 4, 4]), colors='k', font_sizes=11)
    if not points['valid']:
        visualizer.draw_texts(
            'no overlap: this pair adds no dense loss',
            torch.tensor([4, height]),
            colors='r')
    if out_file:
        save_image_atomically(visualizer.get_image(), out_file)
    points['panels'] = placed
    return points


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument(
        '--grid-size',
        type=int,
        default=None,
        help='K (default: the config\'s model.grid_size)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='correspondence.png')
    parser.add_argument(
        '--height',
        type=int,
        default=None,
        help='display height of every panel in pixels '
        '(default: the original image\'s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        check_image_out(args.out, [args.image, args.config])
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    cfg = Config.fromfile(args.config)
    grid_size = args.grid_size or cfg.model.get('grid_size', 7)
    results = make_views(args.image, cfg, args.seed)
    points = draw(results, grid_size, args.out, args.height)
    flips = ', '.join(f'view {i + 1} {"flipped" if f else "not flipped"}'
                      for i, f in enumerate(results['view_flips']))
    print(f'{args.out}: {len(points["original"])} matched points, boxes '
          f'{np.round(results["view_boxes"], 1).tolist()}, {flips}')
    return points


if __name__ == '__main__':
    main()
