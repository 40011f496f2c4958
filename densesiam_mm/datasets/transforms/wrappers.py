# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Multi-view wrapper that keeps each view's geometry."""
import copy
from typing import List, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS
from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS


def _build_transform(cfg):
    """Build a transform in the current default scope (the Runner sets it),
    or in mmpretrain's registry when none is set (plain Python use)."""
    if isinstance(cfg, dict) and DefaultScope.get_current_instance() is None:
        return PRETRAIN_TRANSFORMS.build(cfg)
    return cfg


@PRETRAIN_TRANSFORMS.register_module()
@SEG_TRANSFORMS.register_module()
class MultiViewWithGeometry(BaseTransform):
    """Make several views of one image and record where each came from.

    Like mmpretrain's ``MultiView``, but it also keeps, per view, the crop
    box written by :class:`RandomResizedCropWithBox` and the horizontal flip
    written by ``RandomFlip``. A view pipeline without a crop gets the whole
    image as its box; vertical or diagonal flips are refused, since PixSim
    correspondences are only defined for horizontal ones.

    **Required Keys:** ``img``.

    **Modified Keys:** ``img`` becomes a list of the views' images.

    **Added Keys:**

    - ``view_boxes`` (np.float32, ``(V, 4)``): ``x1, y1, x2, y2`` of each view
      in the pixel coordinates of the input image.
    - ``view_flips`` (np.bool_, ``(V,)``): horizontal flip of each view.

    Pack them with ``PackInputs(algorithm_keys=['view_boxes', 'view_flips'])``.

    Args:
        transforms (list[list[dict]]): one view pipeline per group.
        num_views (int | list[int]): views made by each pipeline.
    """

    def __init__(self,
                 transforms: List[List[Union[dict, callable]]],
                 num_views: Union[int, Sequence[int]] = 2) -> None:
        if isinstance(num_views, int):
            num_views = [num_views]
        if len(num_views) != len(transforms):
            raise ValueError(
                f'MultiViewWithGeometry: `num_views` {list(num_views)} must '
                f'give one count per view pipeline ({len(transforms)}).')
        self.num_views = list(num_views)
        self.pipelines = [
            Compose([_build_transform(t) for t in pipeline])
            for pipeline in transforms
        ]
        self.view_pipelines = [
            p for p, n in zip(self.pipelines, num_views) for _ in range(n)
        ]

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        images, boxes, flips = [], [], []
        for pipeline in self.view_pipelines:
            view = copy.deepcopy(results)
            view['view_box'] = np.array([0, 0, width, height], np.float32)
            view['flip'] = False
            view = pipeline(view)
            if view is None:
                raise RuntimeError(
                    'MultiViewWithGeometry: a view pipeline dropped image '
                    f'{results.get("img_path", "<in memory>")!r}.')
            direction = view.get('flip_direction') or 'horizontal'
            if view.get('flip', False) and direction != 'horizontal':
                raise ValueError(
                    f'MultiViewWithGeometry: flip_direction {direction!r} is '
                    'not supported; use RandomFlip(direction="horizontal").')
            images.append(view['img'])
            boxes.append(view['view_box'])
            flips.append(bool(view.get('flip', False)))
        results['img'] = images
        results['view_boxes'] = np.stack(boxes).astype(np.float32)
        results['view_flips'] = np.array(flips, dtype=np.bool_)
        return results

    def __repr__(self) -> str:
        repr_str = self.__class__.__name__ + '('
        for i, p in enumerate(self.pipelines):
            repr_str += f'\nPipeline {i + 1} with {self.num_views[i]} views:\n'
            repr_str += str(p)
        return repr_str + ')'
