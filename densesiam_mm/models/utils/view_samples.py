# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Read the views' geometry from packed data samples.

The two-view pipelines (``MultiViewWithGeometry``, ``NestedCropViews``)
write, per image, ``view_boxes`` ``(V, 4)`` (crop boxes in original-image
pixels) and ``view_flips`` ``(V,)``, and ``ExactCountBlockMask`` a ``mask``;
``PackInputs`` / ``PackMultiViewSegInputs`` put them in each data sample.
This module stacks those small per-image fields into batch tensors (on the
host, then one non-blocking copy to the device) and hands them to the pure
tensor geometry of :mod:`.geometry`.
"""
from typing import Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .geometry import Correspondence, dense_correspondence, view_correspondence


def stack_sample_field(data_samples, key: str, dtype: torch.dtype) -> Tensor:
    """Stack one small per-image field of the data samples into a batch.

    ``PackInputs`` leaves the fields as numpy arrays: they are stacked by
    numpy and wrapped as one tensor (no per-image tensor op); tensors (e.g.
    written by hand, possibly on the device) are stacked by torch.

    Args:
        data_samples (list): one data sample per image.
        key (str): the field, e.g. ``'view_boxes'`` or ``'mask'``.
        dtype (torch.dtype): dtype of the result.

    Returns:
        Tensor: ``(B, ...)`` the fields stacked along a new first dimension.

    Raises:
        AttributeError: a data sample has no field ``key``.
    """
    values = [getattr(sample, key) for sample in data_samples]
    if all(isinstance(value, Tensor) for value in values):
        return torch.stack(values).to(dtype)
    return torch.from_numpy(np.stack([np.asarray(value)
                                      for value in values])).to(dtype)


def host_view_geometry(data_samples) -> Tuple[Tensor, Tensor]:
    """``(B, V, 4)`` boxes and ``(B, V)`` flips, stacked on the host.

    Raises:
        KeyError: the data samples carry no ``view_boxes``/``view_flips``.
    """
    try:
        boxes = stack_sample_field(data_samples, 'view_boxes', torch.float32)
        flips = stack_sample_field(data_samples, 'view_flips', torch.bool)
    except AttributeError as err:
        raise KeyError(
            'Data samples carry no `view_boxes`/`view_flips`: build the views '
            'with MultiViewWithGeometry and pack them with '
            "PackInputs(algorithm_keys=['view_boxes', 'view_flips']).") \
            from err
    return boxes, flips


def host_boxes_array(data_samples) -> np.ndarray:
    """``(B, V, 4)`` float32 numpy copy of the views' boxes (host data;
    boxes written on a device are copied to the host, a sync)."""
    values = []
    for sample in data_samples:
        value = sample.view_boxes
        if isinstance(value, Tensor) and value.device.type != 'cpu':
            value = value.cpu()
        values.append(np.asarray(value, dtype=np.float32))
    return np.stack(values)


def view_geometry_from_samples(data_samples, device: torch.device):
    """``(B, V, 4)`` boxes and ``(B, V)`` flips of packed data samples.

    Each data sample carries ``view_boxes`` ``(V, 4)`` and ``view_flips``
    ``(V,)`` written by ``MultiViewWithGeometry`` / ``NestedCropViews`` (as
    data fields or metainfo). The small per-image arrays are stacked on the
    host and moved to ``device`` in one non-blocking copy.
    """
    boxes, flips = host_view_geometry(data_samples)
    return (boxes.to(device,
                     non_blocking=True), flips.to(device, non_blocking=True))


def dense_correspondence_from_samples(
        data_samples,
        feat_size: Sequence[int],
        device: torch.device,
        views=(0, 1),
) -> Correspondence:
    """Dense correspondence (every cell of view 1) from packed samples.

    Args:
        data_samples (list): one data sample per image.
        feat_size (Sequence[int]): ``(h, w)`` of view 1's feature map.
        device (torch.device): where the model runs.
        views (tuple[int, int]): which two views to pair.

    Returns:
        Correspondence: see :func:`~.geometry.dense_correspondence`.

    Raises:
        ValueError: when view 1 and view 2 do not overlap in any image of
            the batch: the views of the train pipeline cannot overlap, so
            the dense losses have nothing to compare. The check runs on the
            host copies of the boxes (no device synchronisation per step);
            cells outside view 2 are masked by ``point_valid``.
    """
    first, second = views
    host_boxes, host_flips = host_view_geometry(data_samples)
    # the check reads numpy copies of the host boxes: no torch op, so it is
    # neither a device sync nor data-dependent under fake tensors
    pair_boxes = host_boxes_array(data_samples)[:, [first, second]]
    top_left = np.maximum(pair_boxes[:, 0, :2], pair_boxes[:, 1, :2])
    bottom_right = np.minimum(pair_boxes[:, 0, 2:], pair_boxes[:, 1, 2:])
    if not (bottom_right > top_left).all(axis=1).any():
        raise ValueError(
            "correspondence='dense': view 1 and view 2 do not overlap in any "
            'image of the batch (view_boxes '
            f'{pair_boxes.tolist()}); the train pipeline '
            'makes views that cannot overlap. Use nested views '
            "(NestedCropViews) or correspondence='grid'.")
    boxes = host_boxes.to(device, non_blocking=True)
    flips = host_flips.to(device, non_blocking=True)
    return dense_correspondence(boxes[:, first], flips[:, first],
                                boxes[:, second], flips[:, second], feat_size)


def correspondence_from_samples(
        data_samples,
        grid_size: int,
        device: torch.device,
        views=(0, 1),
) -> Correspondence:
    """``K x K`` correspondence of two views from packed data samples.

    Each data sample carries ``view_boxes`` ``(V, 4)`` and ``view_flips``
    ``(V,)`` written by ``MultiViewWithGeometry`` (as data fields or
    metainfo). The small per-image arrays are stacked on the host and moved to
    ``device`` in one non-blocking copy; everything else is batched.

    Args:
        data_samples (list): one data sample per image.
        grid_size (int): K.
        device (torch.device): where the model runs.
        views (tuple[int, int]): which two views to pair.

    Returns:
        Correspondence: grids of the two views, validity and points.
    """
    boxes, flips = view_geometry_from_samples(data_samples, device)
    first, second = views
    return view_correspondence(boxes[:, first], flips[:, first],
                               boxes[:, second], flips[:, second], grid_size)
