# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Correspondence geometry between two augmented views of one image.

Every view is a crop box of the original image (``x1, y1, x2, y2`` in
original-image pixels, pixel-edge convention: pixel ``i`` covers
``[i, i + 1)``), resized to the view size and possibly flipped horizontally.
DenseSiam compares the two views at the *same original-image points*: a
``K x K`` grid of cell centres inside the intersection of the two boxes.

This module owns that computation, in batched tensor ops (no Python loop over
images, no host-device synchronisation), for the pre-training model, the
segmentation model and PiCIE alike:

1. :func:`intersection_boxes` - intersection box per pair and a validity mask
   (``False`` when the views do not overlap);
2. :func:`grid_points` - ``K x K`` points in original-image pixels;
3. :func:`points_to_view_grid` - normalised ``grid_sample`` coordinates of
   those points in each view (``align_corners=False``, flip-aware);
4. :func:`sample_at_grid` - ``grid_sample`` of a dense map at the points.

:func:`view_correspondence` chains 1-3 for a pair of views.

Dense mode (the authors' DenseSiam-Seg and PiCIE recipes): instead of a
``K x K`` grid in the intersection, *every* feature cell of view 1 is a
point. :func:`dense_view_points` gives the original-image position of each
cell centre of a view's ``(h, w)`` feature map (flip-aware), and
:func:`dense_correspondence` maps those points into view 2 with the same
:func:`points_to_view_grid`, with a per-point validity mask (the point lies
inside view 2's box). Sampling view 2's map at ``grid2`` aligns it cell by
cell with view 1's map: when view 1 is a crop of view 2 (the official
nested-crop views) every cell is valid, and sampling view 1 at ``grid1``
returns its own map (cell centres, bilinear weights 1 and 0).

Reading the views' boxes and flips from packed data samples is
:mod:`.view_samples`' job; this module only works on tensors.
"""
from typing import NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: The largest ``grid_size`` (K) accepted. ``K x K`` points per image are
#: gathered from every dense map, so memory grows with K^2: K = 1000 needed
#: ~23 GB for the demo config (batch 8) and the OOM killer ended the run
#: without a message; K = 64 needs ~0.1 GB. The paper uses K = 7, the
#: segmentation models 16; points denser than the feature map's cells add
#: only bilinear interpolations of the same cells.
MAX_GRID_SIZE = 64


def check_grid_size(grid_size) -> int:
    """Validate the ``grid_size`` (K) config field and return it as int
    (``1 <= K <=`` :data:`MAX_GRID_SIZE`)."""
    if isinstance(grid_size, bool) or not isinstance(grid_size, int) \
            or grid_size <= 0:
        raise ValueError(
            f'`grid_size` (K, the number of sampled points per side) must be '
            f'a positive int, but got {grid_size!r}.')
    if grid_size > MAX_GRID_SIZE:
        raise ValueError(
            f'`grid_size` (K, the number of sampled points per side) must be '
            f'at most {MAX_GRID_SIZE}, but got {grid_size}: K x K points per '
            'image are sampled from every dense map, so memory grows with '
            'K^2 (K = 1000 needs ~23 GB for the demo config). The paper '
            'uses K = 7.')
    return grid_size


def intersection_boxes(boxes1: Tensor, boxes2: Tensor):
    """Intersection of two batches of boxes.

    Args:
        boxes1 (Tensor): ``(B, 4)`` boxes ``x1, y1, x2, y2`` of view 1.
        boxes2 (Tensor): ``(B, 4)`` boxes of view 2.

    Returns:
        tuple[Tensor, Tensor]: ``(B, 4)`` intersection boxes and ``(B,)``
        bool validity (the intersection has a positive area). For invalid
        pairs the returned box is view 1's box, so that downstream points stay
        finite; callers must mask those pairs out.
    """
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    valid = (bottom_right > top_left).all(dim=1)
    inter = torch.cat([top_left, bottom_right], dim=1)
    inter = torch.where(valid[:, None], inter, boxes1)
    return inter, valid


def grid_points(boxes: Tensor, grid_size: int) -> Tensor:
    """Centres of a ``K x K`` grid of cells covering each box.

    Args:
        boxes (Tensor): ``(B, 4)`` boxes ``x1, y1, x2, y2``.
        grid_size (int): K.

    Returns:
        Tensor: ``(B, K, K, 2)`` points ``(x, y)``, row-major (``[:, i, j]``
        is row ``i`` from the top, column ``j`` from the left).
    """
    steps = (torch.arange(grid_size, device=boxes.device, dtype=boxes.dtype) +
             0.5) / grid_size  # (K,)
    xs = boxes[:, 0:1] + steps[None] * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + steps[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    num = boxes.size(0)
    xs = xs[:, None, :].expand(num, grid_size, grid_size)
    ys = ys[:, :, None].expand(num, grid_size, grid_size)
    return torch.stack([xs, ys], dim=-1)


def points_to_view_grid(points: Tensor, boxes: Tensor,
                        flips: Tensor) -> Tensor:
    """Normalised ``grid_sample`` coordinates of original-image points.

    A view shows ``box`` resized to the whole view (and then flipped
    horizontally when ``flip``), so its normalised coordinate is
    ``u = (x - x1) / (x2 - x1)``, mirrored to ``1 - u`` when flipped, and
    ``2u - 1`` in ``grid_sample``'s ``align_corners=False`` convention. This
    does not depend on the resolution of the sampled map, so it holds for the
    image and for every feature map of the view.

    Args:
        points (Tensor): ``(B, ..., 2)`` points ``(x, y)`` in original-image
            pixels.
        boxes (Tensor): ``(B, 4)`` crop box of the view.
        flips (Tensor): ``(B,)`` bool, horizontal flip of the view.

    Returns:
        Tensor: ``(B, ..., 2)`` coordinates in ``[-1, 1]`` for points inside
        the box.
    """
    shape = (boxes.size(0), ) + (1, ) * (points.dim() - 2) + (2, )
    origin = boxes[:, :2].reshape(shape)
    size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1e-6).reshape(shape)
    rel = (points - origin) / size
    flip_x = flips.to(torch.bool).reshape(shape[:-1])
    rel_x = torch.where(flip_x, 1 - rel[..., 0], rel[..., 0])
    rel = torch.stack([rel_x, rel[..., 1]], dim=-1)
    return rel * 2 - 1


class Correspondence(NamedTuple):
    """Sampling grids of the same original-image points in two views.

    Attributes:
        grid1 (Tensor): ``(B, K, K, 2)`` ``grid_sample`` coordinates in view 1.
        grid2 (Tensor): ``(B, K, K, 2)`` coordinates in view 2.
        valid (Tensor): ``(B,)`` bool, False where the views do not overlap.
        points (Tensor): ``(B, K, K, 2)`` the points in original pixels.
        point_valid (Tensor, optional): ``(B, K, K)`` bool, per point: it
            lies inside both views (dense mode; None for the ``K x K`` grid,
            whose points all lie in the intersection). In dense mode
            ``K x K`` reads ``h x w``, view 1's feature map size.
    """
    grid1: Tensor
    grid2: Tensor
    valid: Tensor
    points: Tensor
    point_valid: Optional[Tensor] = None

    @property
    def point_mask(self) -> Tensor:
        """What a loss at the points counts: ``point_valid`` where given,
        else ``valid`` ``(B,)`` (every point of a valid pair)."""
        return self.valid if self.point_valid is None else self.point_valid


def view_correspondence(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                        flips2: Tensor, grid_size: int) -> Correspondence:
    """``K x K`` corresponding sampling grids for a batch of view pairs.

    Args:
        boxes1 (Tensor): ``(B, 4)`` crop boxes of view 1 (original pixels).
        flips1 (Tensor): ``(B,)`` horizontal flips of view 1.
        boxes2 (Tensor): ``(B, 4)`` crop boxes of view 2.
        flips2 (Tensor): ``(B,)`` horizontal flips of view 2.
        grid_size (int): K, points per side.

    Returns:
        Correspondence: grids for both views and the validity mask.
    """
    boxes1 = boxes1.float()
    boxes2 = boxes2.float()
    inter, valid = intersection_boxes(boxes1, boxes2)
    points = grid_points(inter, grid_size)
    grid1 = points_to_view_grid(points, boxes1, flips1)
    grid2 = points_to_view_grid(points, boxes2, flips2)
    return Correspondence(grid1, grid2, valid, points)


def sample_at_grid(feats: Tensor, grid: Tensor) -> Tensor:
    """Bilinearly sample a dense map at grid coordinates.

    Args:
        feats (Tensor): ``(B, C, H, W)`` dense map of one view.
        grid (Tensor): ``(B, K, K, 2)`` coordinates from
            :func:`points_to_view_grid`.

    Returns:
        Tensor: ``(B, C, K, K)`` sampled values.
    """
    # the coordinates keep their float32 precision: cast to a half-precision
    # map's dtype they would move the points by up to ~0.4 % of the view
    # (bf16), e.g. 0.2 cells of a 56 x 56 map; the map is promoted instead
    # (autocast runs grid_sample in float32 anyway)
    dtype = torch.promote_types(feats.dtype, grid.dtype)
    return F.grid_sample(
        feats.to(dtype),
        grid.to(dtype),
        mode='bilinear',
        padding_mode='border',
        align_corners=False)


def dense_view_points(boxes: Tensor, flips: Tensor,
                      feat_size: Sequence[int]) -> Tensor:
    """Original-image position of every feature cell centre of a view.

    Cell ``(i, j)`` of an ``(h, w)`` map of a view has the normalised view
    coordinates ``u = (j + 0.5) / w``, ``v = (i + 0.5) / h``; the view shows
    its box resized (then mirrored when flipped), so the point is
    ``x = x1 + u' (x2 - x1)``, ``y = y1 + v (y2 - y1)`` with ``u' = 1 - u``
    for a flipped view and ``u`` otherwise. This is the inverse of
    :func:`points_to_view_grid`.

    Args:
        boxes (Tensor): ``(B, 4)`` crop boxes of the view.
        flips (Tensor): ``(B,)`` bool, horizontal flips of the view.
        feat_size (Sequence[int]): ``(h, w)`` of the view's feature map.

    Returns:
        Tensor: ``(B, h, w, 2)`` points ``(x, y)`` in original pixels.
    """
    height, width = (int(v) for v in feat_size)
    if height < 1 or width < 1:
        raise ValueError('dense_view_points: `feat_size` must be positive, '
                         f'got {tuple(feat_size)}.')
    boxes = boxes.float()
    us = (torch.arange(width, device=boxes.device, dtype=boxes.dtype) +
          0.5) / width
    vs = (torch.arange(height, device=boxes.device, dtype=boxes.dtype) +
          0.5) / height
    num = boxes.size(0)
    flip_x = flips.to(device=boxes.device, dtype=torch.bool)[:, None]
    us = torch.where(flip_x, 1 - us[None], us[None])  # (B, w)
    xs = boxes[:, 0:1] + us * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + vs[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    xs = xs[:, None, :].expand(num, height, width)
    ys = ys[:, :, None].expand(num, height, width)
    return torch.stack([xs, ys], dim=-1)


def dense_correspondence(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                         flips2: Tensor,
                         feat_size: Sequence[int]) -> Correspondence:
    """Correspondence at every feature cell of view 1 (dense mode).

    Args:
        boxes1 (Tensor): ``(B, 4)`` crop boxes of view 1 (original pixels).
        flips1 (Tensor): ``(B,)`` horizontal flips of view 1.
        boxes2 (Tensor): ``(B, 4)`` crop boxes of view 2.
        flips2 (Tensor): ``(B,)`` horizontal flips of view 2.
        feat_size (Sequence[int]): ``(h, w)`` of view 1's feature map.

    Returns:
        Correspondence: ``(B, h, w, 2)`` grids (``grid1`` samples view 1 at
        its own cell centres, ``grid2`` samples view 2 at the same original
        points), ``point_valid`` ``(B, h, w)`` (the point lies inside view
        2's box) and ``valid`` ``(B,)`` (at least one valid point).
    """
    boxes1 = boxes1.float()
    boxes2 = boxes2.float()
    points = dense_view_points(boxes1, flips1, feat_size)
    grid1 = points_to_view_grid(points, boxes1, flips1)
    grid2 = points_to_view_grid(points, boxes2, flips2)
    # inside view 2 (cell centres of view 1 lie inside view 1 by design)
    point_valid = ((grid2 > -1) & (grid2 < 1)).all(dim=-1)
    valid = point_valid.flatten(1).any(dim=1)
    return Correspondence(grid1, grid2, valid, points, point_valid)
