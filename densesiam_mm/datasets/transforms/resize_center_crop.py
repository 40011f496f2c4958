# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The authors' "resize the short side, centre-crop a square" step."""
import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def center_crop_offset(length: int, size: int) -> int:
    """Offset of a centred crop: ``int(round((length - size) / 2))``.

    The authors' code (DenseSiam ``ResizeCenterCrop``, PiCIE evaluation)
    rounds half-way cases with Python's ``round`` (to even), where mmcv's
    ``CenterCrop`` floors; the two differ by one pixel for odd margins.
    """
    return int(round((length - size) / 2.))


@TRANSFORMS.register_module()
class ResizeCenterCrop(BaseTransform):
    """Resize the short side to ``size``, then centre-crop ``size x size``.

    The image is resized with PIL bilinear (antialiased when shrinking,
    torchvision's ``TF.resize`` on PIL images, as the authors' code), label
    maps with nearest neighbour; the crop offset is
    :func:`center_crop_offset`. The long side is ``int(size * long /
    short)`` (torchvision's rule).

    **Modified Keys:** ``img``, ``img_shape``, ``gt_seg_map`` (if present).

    **Added Keys:** ``scale_factor``, ``crop_box`` (``x1, y1, x2, y2`` in the
    resized image).

    Args:
        size (int): short side and crop side.
        interpolation (str): image interpolation. Defaults to 'bilinear'.
        backend (str): image resize backend. Defaults to 'pillow'.
    """

    def __init__(self,
                 size: int,
                 interpolation: str = 'bilinear',
                 backend: str = 'pillow') -> None:
        if not (isinstance(size, int) and size > 0):
            raise ValueError(
                f'ResizeCenterCrop: `size` must be a positive int, got '
                f'{size!r}.')
        self.size = size
        self.interpolation = interpolation
        self.backend = backend

    def _target_size(self, height: int, width: int):
        if height <= width:
            return int(self.size * width / height), self.size
        return self.size, int(self.size * height / width)

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        new_w, new_h = self._target_size(height, width)
        img = mmcv.imresize(
            img, (new_w, new_h),
            interpolation=self.interpolation,
            backend=self.backend)
        left = center_crop_offset(new_w, self.size)
        top = center_crop_offset(new_h, self.size)
        box = (left, top, left + self.size, top + self.size)
        results['img'] = img[top:box[3], left:box[2]]
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (new_w / width, new_h / height)
        results['crop_box'] = box
        if results.get('gt_seg_map') is not None:
            seg = mmcv.imresize(
                results['gt_seg_map'], (new_w, new_h),
                interpolation='nearest',
                backend=self.backend)
            results['gt_seg_map'] = seg[top:box[3], left:box[2]]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')
