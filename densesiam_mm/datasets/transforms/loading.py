# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Image loading with a clear policy for unreadable files."""
import copy
import multiprocessing

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS
from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS


@PRETRAIN_TRANSFORMS.register_module()
@SEG_TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with a switch for unreadable images.

    An image that cannot be read or decoded (missing, empty, corrupt or
    truncated file) either

    - ``on_unreadable='raise'`` (default): raises ``OSError`` naming the file
      and the reason, or
    - ``on_unreadable='skip'``: logs a warning naming the file, with the
      number of images skipped so far in this run (a counter shared by the
      data-loader workers), and returns ``None``; mmengine's ``BaseDataset``
      then draws another image in training (``test_mode`` datasets refuse
      ``None``, so evaluation still fails loudly).

    Decoding is mmcv's: with the default ``color_type='color'`` and the cv2
    backend, 16-bit PNGs become 8-bit (value >> 8), CMYK JPEGs and
    grayscale images become 3-channel BGR, and alpha is dropped.

    Args:
        on_unreadable (str): ``'raise'`` or ``'skip'``.
        **kwargs: arguments of ``mmcv.transforms.LoadImageFromFile``
            (``ignore_empty`` is replaced by ``on_unreadable``).
    """

    def __init__(self, on_unreadable: str = 'raise', **kwargs) -> None:
        if on_unreadable not in ('raise', 'skip'):
            raise ValueError(
                "CheckedLoadImageFromFile: `on_unreadable` must be 'raise' or "
                f"'skip', got {on_unreadable!r}.")
        if kwargs.pop('ignore_empty', False):
            raise ValueError(
                'CheckedLoadImageFromFile: use on_unreadable="skip" instead '
                'of ignore_empty=True.')
        super().__init__(**kwargs)
        self.on_unreadable = on_unreadable
        # Created before the data-loader workers start, so they share it.
        self.num_skipped = multiprocessing.Value('i', 0)

    def __deepcopy__(self, memo):
        # Copies (e.g. ``BaseDataset.get_subset``) share the counter, which
        # cannot be pickled outside process start-up anyway.
        return copy.copy(self)

    def _read(self, filename: str) -> np.ndarray:
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except Exception as err:
            raise OSError(f'cannot read image {filename!r}: {err}') from err
        if not img_bytes:
            raise OSError(f'image file {filename!r} is empty (0 bytes).')
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:
            img, reason = None, f': {err}'
        else:
            reason = ''
        if img is None or img.size == 0:
            raise OSError(
                f'cannot decode image {filename!r} ({len(img_bytes)} bytes; '
                f'corrupt, truncated or not an image{reason}).')
        return img

    def transform(self, results: dict):
        filename = results['img_path']
        try:
            img = self._read(filename)
        except OSError as err:
            if self.on_unreadable == 'raise':
                raise OSError(
                    f'{type(self).__name__}: {err} Set '
                    "on_unreadable='skip' to skip unreadable images.") \
                    from err
            with self.num_skipped.get_lock():
                self.num_skipped.value += 1
                count = self.num_skipped.value
            print_log(
                f'{type(self).__name__}: skipped {err} '
                f'({count} image(s) skipped so far).',
                logger='current',
                level=30)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(on_unreadable='
                f'{self.on_unreadable!r}, to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
