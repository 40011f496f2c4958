# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Inference helpers around ``mmseg.apis`` for the unsupervised segmentors.

``DenseSiamSeg`` and ``PiCIE`` are mmseg segmentors, so
``mmseg.apis.init_model`` / ``inference_model`` work with them as they are.
Two things differ from a supervised model and are handled here:

- the test pipeline of a config may load (and check) labels and crop the
  image for the benchmark protocol; for a demo the labels are dropped and so
  is the crop, and the prediction is resized to the whole input image;
- predictions are cluster ids, not class ids: they are painted with a
  palette of clusters (``cluster 0``, ``cluster 1``, ...), not with the class
  names the checkpoint was evaluated against.

The checkpoint is loaded strictly: a file that lacks any tensor of the model
(e.g. a pre-training checkpoint, whose segmentation heads would stay random,
or a DenseSiam-Seg checkpoint on a PiCIE config) is a ``ValueError`` listing
the missing tensors, and a corrupted file (checksum) one naming the file.
"""
import copy
import os.path as osp
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from mmengine.config import Config

_DROPPED_AT_DEMO = ('CenterCrop', 'RandomCrop')

#: images with a longer side are downscaled to it before inference: the
#: prediction is painted at the image size (a float score map per cluster),
#: so a 10000x10000 photo would take many GB of memory
MAX_IMAGE_SIDE = 4096
#: images with a shorter side are refused: the backbone's output stride,
#: below which an image has no feature cell of its own
MIN_IMAGE_SIDE = 32


def demo_pipeline(test_pipeline: List[dict]) -> List[dict]:
    """The test pipeline without label loading and benchmark crops."""
    pipeline = []
    for transform in test_pipeline:
        kind = str(transform.get('type', ''))
        if 'Annotations' in kind or kind.split('.')[-1] in _DROPPED_AT_DEMO:
            continue
        pipeline.append(copy.deepcopy(transform))
    return pipeline


def cluster_palette(num_clusters: int, seed: int = 0) -> List[List[int]]:
    """``num_clusters`` distinct, reproducible RGB colours."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(num_clusters, 3)).tolist()


def init_unsup_segmentor(config: Union[str, Path, Config],
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         cfg_options: Optional[dict] = None):
    """``mmseg.apis.init_model`` for DenseSiamSeg / PiCIE demos.

    The config's ``test_pipeline`` is replaced by :func:`demo_pipeline`, the
    prediction is resized to the original image
    (``model.test_cfg.output_size='ori_shape'``) and ``model.dataset_meta``
    names the clusters (``classes``) and gives them a palette; the
    checkpoint's data set meta stays in ``model.checkpoint_dataset_meta``.

    Returns:
        nn.Module: the model in eval mode, ready for
        ``mmseg.apis.inference_model``.
    """
    from mmseg.apis import init_model

    import densesiam_mm  # noqa: F401  (registers the modules)

    cfg = Config.fromfile(str(config)) if isinstance(config,
                                                     (str, Path)) else \
        copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'test_pipeline' not in cfg:
        raise KeyError(f'{config}: the config has no `test_pipeline`.')
    cfg.test_pipeline = demo_pipeline(cfg.test_pipeline)
    cfg.model.test_cfg = dict(
        cfg.model.get('test_cfg') or {}, output_size='ori_shape')
    if 'backbone' in cfg.model:
        cfg.model.backbone.init_cfg = None  # weights come from `checkpoint`
    from .preflight import load_weights_strictly
    model = init_model(cfg, None, device=device)
    model.checkpoint_dataset_meta = None
    if checkpoint is not None:
        model.checkpoint_dataset_meta = load_weights_strictly(
            model, checkpoint).get('meta', {}).get('dataset_meta')
    num_clusters = getattr(model, 'num_clusters', None) or model.num_classes
    model.dataset_meta = dict(
        classes=[f'cluster {i}' for i in range(num_clusters)],
        palette=cluster_palette(num_clusters))
    return model


def _too_small(path: str, width: int, height: int, min_side: int) -> str:
    return (f'image {path} is {width}x{height} px (WxH); the segmentor '
            f'needs at least {min_side} px on each side (its output '
            'stride). Use a larger image.')


def _too_elongated(path: str, width: int, height: int, min_side: int,
                   max_side: int) -> str:
    return (f'image {path} is {width}x{height} px (WxH): downscaled to at '
            f'most {max_side} px its shorter side falls below {min_side} '
            'px. Crop it to a less elongated image.')


def check_demo_image_size(
        path: str,
        min_side: int = MIN_IMAGE_SIDE,
        max_side: int = MAX_IMAGE_SIDE) -> Optional[Tuple[int, int]]:
    """Refuse an image smaller than ``min_side`` (also once downscaled to
    ``max_side``) from its file header (nothing decoded); returns its
    ``(width, height)``, or None when the header is not readable by PIL
    (the decoder reports it later).

    Raises:
        IsADirectoryError: ``path`` is a folder.
        ValueError: the image is too small, naming the file and the limit.
    """
    from PIL import Image
    if osp.isdir(path):
        raise IsADirectoryError(f'{path} is a folder, not an image file')
    try:
        with Image.open(path) as img:
            width, height = img.size
    except Exception:
        return None
    if min(width, height) < min_side:
        raise ValueError(_too_small(path, width, height, min_side))
    if max(width, height) > max_side and \
            min(width, height) * max_side / max(width, height) < min_side:
        raise ValueError(
            _too_elongated(path, width, height, min_side, max_side))
    return width, height


def load_demo_image(
        path: str,
        max_side: int = MAX_IMAGE_SIDE,
        min_side: int = MIN_IMAGE_SIDE) -> Tuple[np.ndarray, Optional[str]]:
    """Read an image for a demo, with a size guard.

    The size is read from the file header first: an image whose shorter
    side is below ``min_side`` pixels is refused before decoding; one whose
    longer side exceeds ``max_side`` is decoded and downscaled (aspect kept)
    to ``max_side``, and a note says so.

    Args:
        path (str): the image file.
        max_side (int): longest side kept, in pixels.
        min_side (int): shortest side accepted, in pixels.

    Returns:
        tuple: the ``(H, W, 3)`` uint8 BGR image (as ``mmcv.imread``) and
        a note about the downscaling, or None when the image is unchanged.

    Raises:
        ValueError: the image is too small, naming the file, its size and
            the limit.
        OSError: the file is not a decodable image, naming it.
    """
    import mmcv
    check_demo_image_size(path, min_side, max_side)
    try:
        img = mmcv.imread(path)
    except Exception as err:
        raise OSError(f'cannot read image {path}: {err}') from err
    if img is None or img.size == 0:
        raise OSError(f'cannot decode image {path} (corrupt, truncated or '
                      'not an image)')
    height, width = img.shape[:2]
    if min(height, width) < min_side:
        raise ValueError(_too_small(path, width, height, min_side))
    if max(height, width) <= max_side:
        return img, None
    img = mmcv.imrescale(img, max_side / max(height, width))
    if min(img.shape[:2]) < min_side:
        raise ValueError(
            _too_elongated(path, width, height, min_side, max_side))
    note = (f'{path} is {width}x{height} px; downscaled to '
            f'{img.shape[1]}x{img.shape[0]} (longest side limit {max_side} '
            'px)')
    return img, note


def inference_unsup_segmentor(model, imgs):
    """``mmseg.apis.inference_model``: image path(s) or array(s) to
    ``SegDataSample`` (s) with ``pred_sem_seg`` cluster ids at image size."""
    from mmseg.apis import inference_model
    return inference_model(model, imgs)
