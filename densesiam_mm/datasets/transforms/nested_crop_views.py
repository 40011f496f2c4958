# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The authors' DenseSiam-Seg / PiCIE views: view 1 is a crop of view 2."""
import copy
import random
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmseg.registry import TRANSFORMS

from .wrappers import _build_transform


def nested_crop_box(size: int, scale: float, offset_x: float, offset_y: float):
    """Square crop of side ``int(scale * size)`` inside a ``size`` square.

    The authors' rule: side ``s = int(scale * size)``, offsets
    ``round((size - s) * offset)`` with ``offset ~ U(0, 1)`` per axis.

    Returns:
        tuple[int, int, int, int]: ``x1, y1, x2, y2`` (pixel edges).
    """
    side = max(1, int(scale * size))
    left = int(round((size - side) * offset_x))
    top = int(round((size - side) * offset_y))
    return left, top, left + side, top + side


@TRANSFORMS.register_module()
class NestedCropViews(BaseTransform):
    """Two views of a square image, view 1 nested inside view 2.

    The authors' protocol (DenseSiam-Seg ``ClusterReplayDataset``, PiCIE):
    on the ``S x S`` image (e.g. after ``ResizeCenterCrop(640)``)

    - view 2 is the whole square resized to ``view_size``;
    - view 1 is a square crop of side ``int(s * S)``, ``s ~ U(scale)``,
      at offsets ``round((S - side) * U(0, 1))`` (:func:`nested_crop_box`),
      resized to ``view_size`` and flipped horizontally with ``flip_prob``;
    - each view then runs its own draw of the photometric ``transforms``
      (colour jitter, grey, blur: no geometric transform there).

    Every cell of view 1 therefore lies inside view 2, which is what the
    dense correspondence (:func:`dense_correspondence`) needs. The output
    is that of :class:`MultiViewWithGeometry` (view order 1, 2).

    ``replay_seed``: when set, every random draw of an image (geometry and
    photometric) is seeded with ``(replay_seed, sample_idx)``, so an image
    gets the same two views every time it is loaded, for the whole run (the
    authors' code fixes each image's augmentation parameters the same way;
    PiCIE's separate labelling pass needs it, see
    :class:`KMeansClusteringHook`). The global ``random``/``numpy`` states
    are restored afterwards.

    **Required Keys:** ``img`` (square), ``sample_idx`` (with
    ``replay_seed``).

    **Modified Keys:** ``img`` becomes ``[view1, view2]``.

    **Added Keys:** ``view_boxes`` ``(2, 4)`` float32 and ``view_flips``
    ``(2,)`` bool, as :class:`MultiViewWithGeometry`.

    Args:
        view_size (int): side of both views (320 in the paper).
        scale (tuple[float, float]): range of ``s``. Defaults to (0.5, 1).
        flip_prob (float): flip probability of view 1. Defaults to 0.5.
        transforms (list[dict]): photometric pipeline run on each view.
        interpolation (str): resize interpolation. Defaults to 'bilinear'.
        backend (str): resize backend. Defaults to 'pillow'.
        replay_seed (int, optional): see above. Defaults to None.
        photometric_first (bool): run each view's photometric draw on the
            whole square before cropping and resizing (the authors' order:
            the blur acts at the square's scale). Defaults to False (on the
            resized views).
    """

    def __init__(self,
                 view_size: int,
                 scale: Sequence[float] = (0.5, 1.0),
                 flip_prob: float = 0.5,
                 transforms: Optional[List[Union[dict, callable]]] = None,
                 interpolation: str = 'bilinear',
                 backend: str = 'pillow',
                 replay_seed: Optional[int] = None,
                 photometric_first: bool = False) -> None:
        if not (isinstance(view_size, int) and view_size > 0):
            raise ValueError('NestedCropViews: `view_size` must be a positive '
                             f'int, got {view_size!r}.')
        scale = tuple(float(v) for v in scale)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(
                'NestedCropViews: `scale` (side of view 1 relative to view '
                f'2) must satisfy 0 < low <= high <= 1, got {scale}.')
        if not 0 <= flip_prob <= 1:
            raise ValueError('NestedCropViews: `flip_prob` must be in [0, 1],'
                             f' got {flip_prob!r}.')
        self.view_size = view_size
        self.scale = scale
        self.flip_prob = flip_prob
        self.photometric = Compose(
            [_build_transform(t) for t in (transforms or [])])
        self.interpolation = interpolation
        self.backend = backend
        self.replay_seed = replay_seed
        self.photometric_first = photometric_first

    def _resize(self, img: np.ndarray) -> np.ndarray:
        return mmcv.imresize(
            img, (self.view_size, self.view_size),
            interpolation=self.interpolation,
            backend=self.backend)

    def _photometric(self, results: dict, img: np.ndarray) -> np.ndarray:
        view = copy.copy(results)
        view['img'] = img
        view['img_shape'] = img.shape[:2]
        view = self.photometric(view)
        if view is None:
            raise RuntimeError('NestedCropViews: the photometric pipeline '
                               'dropped image '
                               f'{results.get("img_path", "<in memory>")!r}.')
        return view['img']

    def _views(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        if height != width:
            raise ValueError('NestedCropViews: needs a square image (put '
                             'ResizeCenterCrop before it), got '
                             f'{height}x{width} for '
                             f'{results.get("img_path", "<in memory>")!r}.')
        box1 = nested_crop_box(width, np.random.uniform(*self.scale),
                               np.random.uniform(), np.random.uniform())
        flip1 = bool(np.random.rand() < self.flip_prob)
        sources = [img, img]
        if self.photometric_first:
            sources = [self._photometric(results, img) for _ in range(2)]
        view1 = self._resize(sources[0][box1[1]:box1[3], box1[0]:box1[2]])
        if flip1:
            view1 = mmcv.imflip(view1, direction='horizontal')
        views = [view1, self._resize(sources[1])]
        if not self.photometric_first:
            views = [self._photometric(results, view) for view in views]
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        results['view_boxes'] = np.array([box1, (0, 0, width, height)],
                                         dtype=np.float32)
        results['view_flips'] = np.array([flip1, False], dtype=np.bool_)
        return results

    def transform(self, results: dict) -> dict:
        if self.replay_seed is None:
            return self._views(results)
        if 'sample_idx' not in results:
            raise KeyError('NestedCropViews(replay_seed=...): the results '
                           'carry no `sample_idx` (set by mmengine datasets).')
        np_state, py_state = np.random.get_state(), random.getstate()
        seed = [int(self.replay_seed), int(results['sample_idx'])]
        np.random.seed(np.random.SeedSequence(seed).generate_state(1))
        random.seed(hash(tuple(seed)))
        try:
            return self._views(results)
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(view_size={self.view_size}, '
                f'scale={self.scale}, flip_prob={self.flip_prob}, '
                f'replay_seed={self.replay_seed}, '
                f'transforms={self.photometric})')
