# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Align the dense maps of two views for the cross-view losses.

The segmentation algorithms (:class:`~.DenseSiamSeg`, :class:`~.PiCIE`)
compare two views of each image at the same original-image points, in one
of two ways (``mode``):

- ``'dense'`` (the authors' recipes, nested-crop views): view 2's map is
  sampled at every feature cell of view 1
  (:func:`~.view_samples.dense_correspondence_from_samples`), so the two
  maps are aligned cell by cell *before* the heads run; the heads' outputs
  are compared cell by cell, counting the cells that lie inside view 2.
- ``'grid'`` (this project's earlier variant): the heads run on each
  view's own map; their outputs are compared at the ``K x K`` points of the
  boxes' intersection (:func:`~.view_samples.correspondence_from_samples`),
  counting the pairs that overlap.

:func:`align_views` does either and returns :class:`AlignedViews`, which
the loss body of an algorithm uses the same way in both modes.
"""
from typing import NamedTuple, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor

from .geometry import sample_at_grid
from .view_samples import (correspondence_from_samples,
                           dense_correspondence_from_samples)

ALIGN_MODES = ('dense', 'grid')


class AlignedViews(NamedTuple):
    """Two views' maps and where they correspond.

    Attributes:
        map1 (Tensor): ``(B, C, h, w)`` map of view 1 on which the heads
            run: ``'dense'``: sampled at its own cell centres (aligned);
            ``'grid'``: view 1's own map.
        map2 (Tensor): view 2's map: ``'dense'``: sampled at view 1's cells,
            ``(B, C, h, w)`` on view 1's grid; ``'grid'``: its own map.
        grid1 (Tensor, optional): ``(B, K, K, 2)`` where outputs of
            ``map1`` are compared (``'grid'``); None when the maps are
            already aligned (``'dense'``).
        grid2 (Tensor, optional): the same for view 2.
        valid (Tensor): ``(B,)`` bool, pairs with a compared point.
        point_valid (Tensor, optional): ``(B, h, w)`` bool, compared cells
            inside both views (``'dense'``); None (``'grid'``: every point of
            a valid pair counts).
        normalize (bool): sampled maps are L2-normalised over channels.
    """
    map1: Tensor
    map2: Tensor
    grid1: Optional[Tensor]
    grid2: Optional[Tensor]
    valid: Tensor
    point_valid: Optional[Tensor] = None
    normalize: bool = False

    @property
    def maps(self):
        """``(map1, map2)``."""
        return self.map1, self.map2

    @property
    def map_valid(self) -> Optional[Tensor]:
        """Cells of ``map1``/``map2`` that a within-view term counts:
        ``point_valid`` when the maps are aligned, None (all) otherwise."""
        return self.point_valid if self.grid1 is None else None

    @property
    def point_mask(self) -> Tensor:
        """What a cross-view term at the compared points counts:
        ``point_valid`` ``(B, h, w)`` where given, else ``valid``."""
        return self.valid if self.point_valid is None else self.point_valid

    def at_points(self, dense_map: Tensor, view: int) -> Tensor:
        """A map computed from ``map1`` (``view=0``) or ``map2`` (``1``),
        at the compared points.

        Args:
            dense_map (Tensor): ``(B, C', h, w)`` e.g. a head's output.
            view (int): 0 or 1.

        Returns:
            Tensor: ``(B, C', K, K)`` sampled at the view's grid
            (``'grid'``; L2-normalised when ``normalize``), or ``dense_map``
            itself when the maps are already aligned (``'dense'``).
        """
        grid = (self.grid1, self.grid2)[view]
        if grid is None:
            return dense_map
        points = sample_at_grid(dense_map, grid)
        return F.normalize(points, dim=1) if self.normalize else points


def align_views(map1: Tensor,
                map2: Tensor,
                data_samples: Sequence,
                mode: str = 'dense',
                grid_size: int = 16,
                normalize: bool = False) -> AlignedViews:
    """Align two views' dense maps (the one alignment of both algorithms).

    Args:
        map1 (Tensor): ``(B, C, h, w)`` map of view 1 (e.g. FPN features).
        map2 (Tensor): ``(B, C, h', w')`` map of view 2.
        data_samples (list): one data sample per image, carrying
            ``view_boxes``/``view_flips``.
        mode (str): ``'dense'`` (every cell of view 1, maps aligned now) or
            ``'grid'`` (``K x K`` points, outputs aligned by
            :meth:`AlignedViews.at_points`). Defaults to ``'dense'``.
        grid_size (int): K of ``'grid'``. Defaults to 16.
        normalize (bool): L2-normalise every sampled map over channels
            (PiCIE: interpolated unit features are made unit again). Defaults
            to False.

    Returns:
        AlignedViews: the maps, the grids still to apply and the validity.
    """
    if mode == 'dense':
        corr = dense_correspondence_from_samples(data_samples, map1.shape[2:],
                                                 map1.device)
        map1 = sample_at_grid(map1, corr.grid1)
        map2 = sample_at_grid(map2, corr.grid2)
        if normalize:
            map1, map2 = F.normalize(map1, dim=1), F.normalize(map2, dim=1)
        return AlignedViews(map1, map2, None, None, corr.valid,
                            corr.point_valid, normalize)
    if mode == 'grid':
        corr = correspondence_from_samples(data_samples, grid_size,
                                           map1.device)
        return AlignedViews(map1, map2, corr.grid1, corr.grid2, corr.valid,
                            None, normalize)
    raise ValueError(f'align_views: unknown `mode` {mode!r}; choose one of '
                     f'{ALIGN_MODES}.')
