# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Random resized crop that records where the view came from."""
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import RandomResizedCrop
from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS
from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS


def _check_image(results: dict, transform: str) -> None:
    img = results.get('img')
    if img is None or img.ndim < 2 or img.shape[0] < 1 or img.shape[1] < 1:
        shape = None if img is None else img.shape
        raise ValueError(
            f'{transform}: image {results.get("img_path", "<in memory>")!r} '
            f'is empty (shape {shape}); cannot crop a view from it.')


@PRETRAIN_TRANSFORMS.register_module()
@SEG_TRANSFORMS.register_module()
class RandomResizedCropWithBox(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that records its crop box.

    The box is written to ``results['view_box']`` as ``x1, y1, x2, y2``
    (float32, pixel-edge convention) in the coordinates of the image that
    entered the two-view wrapper (:class:`MultiViewWithGeometry` sets
    ``view_box`` to the whole image before the view pipeline runs). Several
    crops in one view compose. Outside the wrapper, the box is relative to
    the image given to this transform.

    Images smaller than ``scale`` are handled like any other: the crop is
    resized (up-sampled) to ``scale``. A horizontal flip must come *after*
    the crop in the view pipeline; a flip before it raises an error, since
    the recorded box would be mirrored.

    **Added Keys:** ``view_box``. Other keys as ``RandomResizedCrop``.

    Args: see ``mmpretrain.datasets.transforms.RandomResizedCrop``.
    """

    def transform(self, results: dict) -> dict:
        _check_image(results, type(self).__name__)
        if results.get('flip', False):
            raise ValueError(
                f'{type(self).__name__}: the image was flipped before the '
                'crop; put RandomFlip after the crop in the view pipeline so '
                'the recorded box stays in original-image coordinates.')
        img = results['img']
        height, width = img.shape[:2]
        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        img = mmcv.imcrop(
            img,
            bboxes=np.array([
                offset_w, offset_h, offset_w + target_w - 1,
                offset_h + target_h - 1
            ]))
        results['img'] = mmcv.imresize(
            img,
            tuple(self.scale[::-1]),
            interpolation=self.interpolation,
            backend=self.backend)
        results['img_shape'] = results['img'].shape[:2]

        outer = np.asarray(
            results.get('view_box', (0, 0, width, height)), dtype=np.float64)
        scale_x = (outer[2] - outer[0]) / width
        scale_y = (outer[3] - outer[1]) / height
        results['view_box'] = np.array([
            outer[0] + offset_w * scale_x, outer[1] + offset_h * scale_y,
            outer[0] + (offset_w + target_w) * scale_x, outer[1] +
            (offset_h + target_h) * scale_y
        ],
                                       dtype=np.float32)
        return results
