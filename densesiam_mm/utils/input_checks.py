# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checks run by tools/train.py and tools/test.py before anything is built.

- :func:`check_dataset_files`: an empty image-list / annotation file fails
  with its path (mmpretrain's ``CustomDataset`` otherwise stops with
  "need at least one array to concatenate").
- :func:`check_checkpoint_matches`: a checkpoint of another model given to
  ``load_from`` or ``--resume`` fails with the file and example keys
  (mmengine otherwise only warns and trains from random weights).
"""
import os.path as osp
from typing import Dict, List

import torch
from mmengine.logging import print_log

from .checkpoint import load_checkpoint_file


def _dataset_cfgs(cfg) -> List[dict]:
    """The dataset configs in ``cfg`` (through wrappers and lists)."""
    found = []
    if isinstance(cfg, dict):
        if 'ann_file' in cfg or 'data_root' in cfg:
            found.append(cfg)
        for value in cfg.values():
            if isinstance(value, (dict, list, tuple)):
                found += _dataset_cfgs(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            found += _dataset_cfgs(value)
    return found


def check_dataset_files(dataset_cfg) -> None:
    """Refuse an existing but empty ``ann_file`` (list or annotation file).

    Missing files and empty folders are left to the dataset class, whose
    errors already name the path.

    Raises:
        ValueError: naming the dataset type and the empty file.
    """
    for cfg in _dataset_cfgs(dataset_cfg):
        ann_file = cfg.get('ann_file')
        if not isinstance(ann_file, str) or not ann_file:
            continue
        data_root = cfg.get('data_root')
        path = ann_file if osp.isabs(ann_file) or not data_root else \
            osp.join(data_root, ann_file)
        if osp.isfile(path):
            with open(path, 'rb') as f:
                empty = not f.read(1 << 16).strip()
            if empty:
                raise ValueError(
                    f'{cfg.get("type", "dataset")}: ann_file {path!r} is '
                    'empty; it must list at least one image.')


def _state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    return {(k[7:] if k.startswith('module.') else k): v
            for k, v in state.items() if isinstance(v, torch.Tensor)}


def check_checkpoint_matches(model: torch.nn.Module, filename: str) -> int:
    """Check that a local checkpoint holds weights of ``model``.

    Returns the number of the model's tensors it provides (by name and
    shape). Remote files (``http://``, ...) are not checked (returns -1).

    Raises:
        ValueError: none of the checkpoint's tensors fits ``model``.
    """
    if '://' in filename or not osp.isfile(osp.expanduser(filename)):
        return -1
    model = getattr(model, 'module', model)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    given = _state_dict(load_checkpoint_file(filename, map_location='cpu'))
    matched = [k for k, v in given.items()
               if k in expected and expected[k] == v.shape]
    if not matched:
        mismatched = [k for k in given if k in expected]
        detail = (f'{len(mismatched)} share a name but not the shape, e.g. '
                  f'{mismatched[0]}: {tuple(given[mismatched[0]].shape)} vs '
                  f'{tuple(expected[mismatched[0]])}' if mismatched else
                  f'e.g. it has {sorted(given)[:3]}, the model expects '
                  f'{sorted(expected)[:3]}')
        raise ValueError(
            f'{filename}: none of its {len(given)} tensors fits '
            f'{type(model).__name__} ({detail}). It is a checkpoint of '
            'another model. To initialise only the backbone from it, use '
            'model.backbone.init_cfg=dict(type="Pretrained", '
            f'checkpoint="{filename}") (with prefix="backbone." if its '
            'backbone keys start with "backbone.").')
    if len(matched) < len(expected):
        print_log(
            f'{filename}: provides {len(matched)} of the {len(expected)} '
            f'tensors of {type(model).__name__}; the others keep their '
            'initialisation.',
            logger='current',
            level=30)
    return len(matched)
