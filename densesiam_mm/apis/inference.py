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
from pathlib import Path
from typing import List, Optional, Union

import numpy as np
from mmengine.config import Config

_DROPPED_AT_DEMO = ('CenterCrop', 'RandomCrop')


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


def inference_unsup_segmentor(model, imgs):
    """``mmseg.apis.inference_model``: image path(s) or array(s) to
    ``SegDataSample`` (s) with ``pred_sem_seg`` cluster ids at image size."""
    from mmseg.apis import inference_model
    return inference_model(model, imgs)
