# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Loading of segmentation label maps with checks that name the file."""
import io
import os.path as osp
from typing import Optional

import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS
from PIL import Image


def check_seg_dataset_paths(dataset_name: str, ann_file: str,
                            data_prefix: dict) -> None:
    """Fail early, naming the path, when a split file or folder is missing.

    Args:
        dataset_name (str): Shown in the message.
        ann_file (str): Split list (one image stem a line) or ``''``.
        data_prefix (dict): ``img_path`` and (optional) ``seg_map_path``
            folders, already joined with ``data_root``.

    Raises:
        FileNotFoundError: naming every missing path.
    """
    missing = []
    if ann_file and not osp.isfile(ann_file):
        missing.append(f'split file (ann_file) {ann_file}')
    for key in ('img_path', 'seg_map_path'):
        folder = data_prefix.get(key)
        if folder and not osp.isdir(folder):
            missing.append(f'{key} folder {folder}')
    if missing:
        raise FileNotFoundError(
            f'{dataset_name}: missing ' + '; '.join(missing) +
            '. See docs/unsup_seg_data.md for the expected layout.')


def check_seg_data_list(dataset_name: str, data_list: list, ann_file: str,
                        data_prefix: dict, img_suffix: str) -> list:
    """Fail, naming the folder, when a data set found no image.

    mmengine otherwise stops with numpy's "need at least one array to
    concatenate" when it serialises the empty list.

    Raises:
        ValueError: naming the image folder, the suffix and the split file.
    """
    if data_list:
        return data_list
    where = f'no {img_suffix} image in {data_prefix.get("img_path")}'
    if ann_file:
        where += f' listed in {ann_file}'
    raise ValueError(f'{dataset_name}: {where}; the data set is empty. See '
                     'docs/unsup_seg_data.md for the expected layout.')


def check_seg_map(seg: np.ndarray,
                  path: str,
                  num_classes: int,
                  ignore_index: int = 255,
                  image_shape: Optional[tuple] = None,
                  img_path: Optional[str] = None,
                  who: str = 'label check') -> None:
    """Refuse a label map that cannot be scored, naming its file.

    The one check of label maps of this package (the linear and the
    clustering probe both load labels with
    :class:`LoadCheckedSegAnnotations`): a single-channel ``(H, W)`` map,
    of the size of its image when ``image_shape`` is given, holding only
    class ids ``0..num_classes-1`` and ``ignore_index``.

    Args:
        seg (np.ndarray): the loaded label map (after any ``label_map``).
        path (str): its file, for the message.
        num_classes (int): number of classes.
        ignore_index (int): label allowed besides the classes.
        image_shape (tuple, optional): ``(H, W, ...)`` of the image.
        img_path (str, optional): the image, for the message.
        who (str): the caller, prefixed to the message.

    Raises:
        ValueError: naming the file, what is wrong and what was expected.
    """
    if seg.ndim != 2:
        raise ValueError(
            f'{who}: label map {path} has shape {seg.shape}; expected a '
            'single-channel index map (H, W) of class ids, e.g. an 8-bit '
            'grey or palette PNG, not a colour (RGB) rendering')
    if image_shape is not None and \
            tuple(seg.shape) != tuple(image_shape[:2]):
        raise ValueError(
            f'{who}: label map {path} is {seg.shape[1]}x{seg.shape[0]} '
            f'(WxH) but its image {img_path} is '
            f'{image_shape[1]}x{image_shape[0]}; a label map must have the '
            'size of its image')
    if seg.dtype == np.uint8:
        # label maps are uint8 after loading: a 256-bin histogram is cheap
        values = np.flatnonzero(np.bincount(seg.ravel(), minlength=256))
    else:
        values = np.unique(seg)
    bad = values[((values < 0) | (values >= num_classes))
                 & (values != ignore_index)]
    if bad.size:
        raise ValueError(
            f'{who}: label map {path} has class ids {bad.tolist()} outside '
            f'0..{num_classes - 1} (num_classes {num_classes}, ignore index '
            f'{ignore_index}); fix the labels, or set num_classes / the '
            'ignore index (or a label_map) to match them')


@TRANSFORMS.register_module()
class LoadCheckedSegAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` with checks of the loaded label map.

    Before mmseg's loader casts the map to uint8, a label map stored with
    more than 8 bits (16-bit PNG or TIFF) must hold values <= 255: mmseg
    would silently wrap 259 to class 3. After loading (and after the
    dataset's ``label_map``, e.g. CamVid's ``11 → 255``, is applied), the
    label map must

    - exist (a missing file raises ``FileNotFoundError`` naming it);
    - have the size of its image: compared with ``ori_shape``, so put this
      transform after ``LoadImageFromFile`` (before or after ``Resize``:
      ``ori_shape`` is the decoded image size). Without ``ori_shape`` the
      size check is skipped;
    - contain only class ids ``0..num_classes-1`` and ``ignore_index``.

    Any violation raises ``ValueError`` naming the label file and the image.

    **Required Keys:** ``seg_map_path``, ``ori_shape`` (for the size check),
    ``num_classes`` unless given as argument (the datasets of this package
    add it to every sample).

    **Added Keys:** ``gt_seg_map`` (uint8, ``(H, W)``), ``seg_fields``.

    Args:
        num_classes (int, optional): Number of classes. Defaults to the
            ``num_classes`` key of the sample.
        ignore_index (int): Label allowed besides the classes. Defaults to
            255.
        **kwargs: Passed to ``mmseg.datasets.transforms.LoadAnnotations``.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        if self.backend_args is None and not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: label map {path} not found (image '
                f'{results.get("img_path")})')
        self._check_bit_depth(path, results)
        try:
            super()._load_seg_map(results)
        except Exception as err:
            raise ValueError(f'{type(self).__name__}: cannot read label map '
                             f'{path}: {err}') from err
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes is None:
            raise KeyError(
                f'{type(self).__name__}: set num_classes, or use a dataset '
                "that adds 'num_classes' to its samples")
        check_seg_map(
            results['gt_seg_map'],
            path,
            num_classes,
            self.ignore_index,
            image_shape=results.get('ori_shape'),
            img_path=results.get('img_path'),
            who=type(self).__name__)

    #: PIL modes of label maps that uint8 holds without loss
    _EIGHT_BIT_MODES = ('1', 'L', 'P', 'LA', 'PA', 'RGB', 'RGBA')

    def _check_bit_depth(self, path: str, results: dict) -> None:
        """Refuse label values above 255 before mmseg casts to uint8.

        Only the header is read for 8-bit files; deeper ones are decoded.
        """
        try:
            source = path if self.backend_args is None else io.BytesIO(
                fileio.get(path, backend_args=self.backend_args))
            with Image.open(source) as img:
                if img.mode in self._EIGHT_BIT_MODES:
                    return
                raw = np.asarray(img)
        except Exception:
            return  # not decodable by PIL: mmseg's loader reports it
        if raw.dtype.kind not in 'iuf' or raw.size == 0:
            return
        high = np.unique(raw[raw > 255]) if raw.max() > 255 else None
        if high is not None and high.size:
            shown = high[:8].astype(np.int64).tolist()
            raise ValueError(
                f'{type(self).__name__}: label map {path} (image '
                f'{results.get("img_path")}) is {raw.dtype} with values '
                f'{shown}{" ..." if high.size > 8 else ""} above 255; '
                'label maps are read as uint8, which would wrap them (e.g. '
                f'{shown[0]} -> {shown[0] % 256}). Store class ids 0..255 '
                '(8-bit PNG).')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, '
                f"imdecode_backend='{self.imdecode_backend}')")
