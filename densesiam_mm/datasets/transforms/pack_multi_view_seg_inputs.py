# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Pack the views of :class:`MultiViewWithGeometry` for a segmentor."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform, to_tensor
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample


def _image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W[, C])`` array to a contiguous ``(C, H, W)`` tensor."""
    if img.ndim < 3:
        img = img[..., None]
    return to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackMultiViewSegInputs(BaseTransform):
    """Pack several views of one image and their geometry, for training.

    The self-supervised counterpart of mmseg's ``PackSegInputs``: ``inputs``
    is the list of the views' ``(3, H, W)`` uint8 tensors, and the
    ``SegDataSample`` carries ``view_boxes`` ``(V, 4)`` and ``view_flips``
    ``(V,)`` as data fields (read by
    :func:`~densesiam_mm.models.utils.correspondence_from_samples`), plus the
    usual meta keys (``sample_idx`` identifies the image, e.g. for PiCIE's
    stored labels). No label is packed: training is unsupervised.

    **Required Keys:** ``img`` (list of views), ``view_boxes``,
    ``view_flips``.

    Args:
        meta_keys (tuple[str]): keys copied to the metainfo when present.
    """

    def __init__(self,
                 meta_keys=('img_path', 'ori_shape', 'img_shape',
                            'sample_idx')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        views = results.get('img')
        if not isinstance(views, (list, tuple)) or \
                'view_boxes' not in results or 'view_flips' not in results:
            raise KeyError(
                'PackMultiViewSegInputs: expected a list of views in `img` '
                'and `view_boxes`/`view_flips` from MultiViewWithGeometry '
                f'(image {results.get("img_path", "<in memory>")!r}).')
        data_sample = SegDataSample()
        data_sample.set_field(
            torch.as_tensor(np.asarray(results['view_boxes'], np.float32)),
            'view_boxes')
        data_sample.set_field(
            torch.as_tensor(np.asarray(results['view_flips'], np.bool_)),
            'view_flips')
        meta = {key: results[key] for key in self.meta_keys if key in results}
        meta['img_shape'] = tuple(views[0].shape[:2])  # the view size
        data_sample.set_metainfo(meta)
        return dict(
            inputs=[_image_to_tensor(view) for view in views],
            data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
