# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Image loading with a clear policy for unreadable files."""
import copy
import ctypes
import multiprocessing
import zlib

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
    - ``on_unreadable='skip'``: returns ``None``, and mmengine's
      ``BaseDataset`` draws another image in training (``test_mode``
      datasets refuse ``None``, so evaluation still fails loudly). The
      first time a file proves unreadable a warning names it, with the
      number of distinct unreadable files so far; later skips of the same
      file are only counted. Counters are shared by the data-loader
      workers. Once every file of the data set proved unreadable (its size
      is given by :meth:`set_num_files`, which ``tools/train.py`` calls), or
      when no image at all could be read in ``max_consecutive_skips``
      tries, it raises ``OSError`` saying so instead of mmengine's generic
      "Cannot find valid image after 1000!".

    Decoding is mmcv's: with the default ``color_type='color'`` and the cv2
    backend, 16-bit PNGs become 8-bit (value >> 8), CMYK JPEGs and
    grayscale images become 3-channel BGR, and alpha is dropped.

    Args:
        on_unreadable (str): ``'raise'`` or ``'skip'``.
        max_consecutive_skips (int): with ``'skip'``, stop after this many
            unreadable images in a row while no image has been read in this
            run. Defaults to 200.
        **kwargs: arguments of ``mmcv.transforms.LoadImageFromFile``
            (``ignore_empty`` is replaced by ``on_unreadable``).
    """

    #: bits of the shared "already reported" set of unreadable files
    #: (hashed paths; 128 KiB of shared memory)
    SEEN_BITS = 1 << 20

    def __init__(self,
                 on_unreadable: str = 'raise',
                 max_consecutive_skips: int = 200,
                 **kwargs) -> None:
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
        self.max_consecutive_skips = max_consecutive_skips
        self.num_files = None
        # Created before the data-loader workers start, so they share them:
        # skip events, distinct unreadable files, images read, and the set
        # of files already reported. One lock (num_skipped's) guards all.
        self.num_skipped = multiprocessing.Value('i', 0)
        self.num_unreadable_files = multiprocessing.RawValue('i', 0)
        self.num_read = multiprocessing.RawValue('i', 0)
        self._seen = multiprocessing.RawArray(ctypes.c_uint8,
                                              self.SEEN_BITS // 8)
        self._consecutive_skips = 0  # per process

    def set_num_files(self, num_files: int) -> None:
        """The size of the data set this transform loads for."""
        self.num_files = int(num_files)

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
            return self._skip(filename, err)
        if self.on_unreadable == 'skip':
            self._consecutive_skips = 0
            if not self.num_read.value:
                with self.num_skipped.get_lock():
                    self.num_read.value += 1
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _skip(self, filename: str, err: OSError):
        """Count a skipped file; warn the first time; stop when nothing is
        left to read."""
        bit = zlib.crc32(str(filename).encode()) % self.SEEN_BITS
        with self.num_skipped.get_lock():
            self.num_skipped.value += 1
            new = not self._seen[bit // 8] & (1 << bit % 8)
            if new:
                self._seen[bit // 8] |= 1 << bit % 8
                self.num_unreadable_files.value += 1
            distinct = self.num_unreadable_files.value
            any_read = self.num_read.value > 0
        self._consecutive_skips += 1
        name = type(self).__name__
        if self.num_files and distinct >= self.num_files and not any_read:
            raise OSError(
                f'{name}: all {self.num_files} image files of the data set '
                f'are unreadable (e.g. {err}). Check data_root / data_prefix '
                "and the files; on_unreadable='skip' skips single bad "
                'images, not a whole data set.')
        if not any_read and \
                self._consecutive_skips >= self.max_consecutive_skips:
            raise OSError(
                f'{name}: no image could be read: the last '
                f'{self._consecutive_skips} tries were unreadable '
                f'({distinct} distinct files, e.g. {err}). Check data_root / '
                'data_prefix and the files.')
        if new:
            print_log(
                f'{name}: skipped {err} ({distinct} unreadable file(s) so '
                'far; each is reported once).',
                logger='current',
                level=30)
        return None

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(on_unreadable='
                f'{self.on_unreadable!r}, to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
