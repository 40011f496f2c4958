# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Where the patches of one view lie in another view's patch grid.

SiameseIM predicts the tokens of view 2 from the visible tokens of view 1;
each query carries the position of its view-2 patch *in view 1's
coordinates*, in units of view 1's patches (patch centres at ``0 .. g-1``).
This module derives that position from the same crop boxes and flips as
DenseSiam's correspondences, with :mod:`.geometry`'s own functions:

1. :func:`view_patch_positions` - the ``g x g`` patch centres of view 2 as
   original-image points (:func:`~.geometry.grid_points` on view 2's box,
   columns in view 2's displayed order), mapped into view 1
   (:func:`~.geometry.points_to_view_grid`) and converted from
   ``grid_sample`` units ``u`` to patch units ``(u + 1) / 2 * g - 1/2``;
2. :func:`sincos_position_code` - the 2-D sine-cosine code of (row, column)
   positions, in the channel layout of the fixed position table of
   mmpretrain's ``MAEViT`` (``[sin r, cos r, sin c, cos c]``, ``D / 4``
   frequencies ``10000^(-k / (D/4))`` each);
3. :func:`relative_position_code` - the code of the positions (``D``
   channels) followed by the code of the relative scale
   ``(10 ln(h2/h1), 10 ln(w2/w1))`` (``D`` channels): ``(B, g*g, 2D)``.

For two identical views the positions are the integer patch indices, so the
first ``D`` channels equal :func:`absolute_position_code`, the table the
encoder adds to its own tokens. Boxes are ``x1, y1, x2, y2`` in original
pixels; a view is its box resized to the view, then flipped horizontally
when its flip is set (crop then flip, as ``MultiViewWithGeometry`` records).
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from .geometry import grid_points, points_to_view_grid
from .view_samples import view_geometry_from_samples

#: multiplier of the log relative scale before its sine-cosine code
SCALE_FACTOR = 10.


def _check_embed_dims(embed_dims: int) -> int:
    if isinstance(embed_dims, bool) or not isinstance(embed_dims, int) \
            or embed_dims <= 0 or embed_dims % 4:
        raise ValueError(
            '`embed_dims` of a 2-D sine-cosine position code must be a '
            f'positive multiple of 4, but got {embed_dims!r}.')
    return embed_dims


def sincos_position_code(rows: Tensor,
                         cols: Tensor,
                         embed_dims: int,
                         temperature: float = 10000.) -> Tensor:
    """2-D sine-cosine code of real-valued (row, column) positions.

    Args:
        rows (Tensor): ``(...)`` row positions.
        cols (Tensor): ``(...)`` column positions, same shape.
        embed_dims (int): D, a multiple of 4.
        temperature (float): base of the frequencies. Defaults to 10000.

    Returns:
        Tensor: ``(..., D)``: ``[sin(r w), cos(r w), sin(c w), cos(c w)]``
        with ``w_k = temperature^(-k / (D/4))``, ``k = 0 .. D/4 - 1``.
    """
    quarter = _check_embed_dims(embed_dims) // 4
    omega = torch.arange(quarter, dtype=torch.float32, device=rows.device)
    omega = 1. / temperature**(omega / quarter)  # (D/4,)
    out_r = rows.float()[..., None] * omega
    out_c = cols.float()[..., None] * omega
    return torch.cat(
        [out_r.sin(), out_r.cos(),
         out_c.sin(), out_c.cos()], dim=-1)


def absolute_position_code(grid_size: int,
                           embed_dims: int,
                           device=None) -> Tensor:
    """Fixed position table of a ``g x g`` patch grid, row-major.

    Returns:
        Tensor: ``(g*g, D)``; row ``r * g + c`` codes patch ``(r, c)``.
    """
    idx = torch.arange(grid_size, dtype=torch.float32, device=device)
    rows = idx[:, None].expand(grid_size, grid_size)
    cols = idx[None, :].expand(grid_size, grid_size)
    return sincos_position_code(rows, cols, embed_dims).flatten(0, 1)


def view_patch_positions(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                         flips2: Tensor,
                         grid_size: int) -> Tuple[Tensor, Tensor]:
    """Patch centres of view 2 in view 1's patch units.

    Args:
        boxes1 (Tensor): ``(B, 4)`` crop boxes of view 1 (original pixels).
        flips1 (Tensor): ``(B,)`` horizontal flips of view 1.
        boxes2 (Tensor): ``(B, 4)`` crop boxes of view 2.
        flips2 (Tensor): ``(B,)`` horizontal flips of view 2.
        grid_size (int): g, patches per side of both views.

    Returns:
        tuple[Tensor, Tensor]: ``(B, g, g)`` rows ``R`` and columns ``C``:
        entry ``[b, r, c]`` is where the centre of view 2's displayed patch
        ``(r, c)`` lies in view 1 (patch centres of view 1 at ``0 .. g-1``;
        values outside ``[-1/2, g - 1/2]`` are outside view 1).
    """
    boxes1, boxes2 = boxes1.float(), boxes2.float()
    # Patch centres of the *unflipped* crop of view 2, in original pixels;
    # a flipped view shows column g-1-c of its crop at column c.
    points = grid_points(boxes2, grid_size)  # (B, g, g, 2)
    flip2 = flips2.to(torch.bool).reshape(-1, 1, 1, 1)
    points = torch.where(flip2, points.flip(2), points)
    grid = points_to_view_grid(points, boxes1, flips1)  # in [-1, 1]
    patch = (grid + 1) / 2 * grid_size - 0.5
    return patch[..., 1], patch[..., 0]


def relative_position_code(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                           flips2: Tensor, grid_size: int,
                           embed_dims: int) -> Tensor:
    """Relative position and scale code of view 2's patches in view 1.

    Returns:
        Tensor: ``(B, g*g, 2D)``: per view-2 patch (row-major), the code of
        its position (:func:`view_patch_positions`) then the code of the
        relative scale ``(10 ln(h2/h1), 10 ln(w2/w1))`` of the two boxes.
    """
    rows, cols = view_patch_positions(boxes1, flips1, boxes2, flips2,
                                      grid_size)
    position = sincos_position_code(rows, cols, embed_dims).flatten(1, 2)
    size1 = (boxes1[:, 2:] - boxes1[:, :2]).float().clamp(min=1e-6)
    size2 = (boxes2[:, 2:] - boxes2[:, :2]).float().clamp(min=1e-6)
    log_scale = SCALE_FACTOR * torch.log(size2 / size1)  # (B, 2): w, h
    scale = sincos_position_code(log_scale[:, 1], log_scale[:, 0],
                                 embed_dims)  # (B, D)
    scale = scale[:, None].expand(-1, position.size(1), -1)
    return torch.cat([position, scale], dim=-1)


def relative_position_code_from_samples(
        data_samples,
        grid_size: int,
        embed_dims: int,
        device: torch.device,
        views: Sequence[int] = (0, 1),
) -> Tensor:
    """:func:`relative_position_code` of ``views[1]`` in ``views[0]`` from
    packed data samples (``view_boxes``/``view_flips`` of
    ``MultiViewWithGeometry``, read by
    :func:`~.view_samples.view_geometry_from_samples`). ``(B, g*g, 2D)``."""
    boxes, flips = view_geometry_from_samples(data_samples, device)
    first, second = views
    return relative_position_code(boxes[:, first], flips[:, first],
                                  boxes[:, second], flips[:, second],
                                  grid_size, embed_dims)
