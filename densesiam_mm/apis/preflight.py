# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checks run by tools/train.py and tools/test.py before anything is built.

- :func:`check_dataset_files`: an empty image-list / annotation file fails
  with its path (mmpretrain's ``CustomDataset`` otherwise stops with
  "need at least one array to concatenate").
- :func:`check_checkpoint_matches`: a checkpoint of another model given to
  ``load_from`` or ``--resume`` fails with the file and example keys
  (mmengine otherwise only warns and trains from random weights); with
  ``mode='model'`` (test, demo, inference) every tensor of the model must be
  in the file, with ``mode='resume'`` the file must be a checkpoint of
  exactly this model.
- :func:`check_train_batches`: a data set too small for one batch per
  process (``drop_last=True``) fails before training instead of "training"
  0 iterations.
- :func:`guard_batch_norm`: SimSiam-style BN heads (``BatchNorm1d`` on
  ``(B, C)`` vectors) need >= 2 samples per process; a per-process batch of
  1 fails naming ``train_dataloader.batch_size`` (and ``drop_last`` for a
  last batch of 1) instead of torch's "Expected more than 1 value per
  channel when training". The check is made on the input each BN layer
  actually gets (token BN on ``(B, C, N)`` is fine with a batch of 1).
"""
import os.path as osp
from typing import List

import torch
from mmengine.logging import print_log
from torch import nn

from ..checkpoint import (is_local_file, key_groups, load_checkpoint_file,
                          match_state_dict, unwrap_state_dict)


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


def check_checkpoint_matches(model: torch.nn.Module,
                             filename: str,
                             mode: str = 'partial',
                             checkpoint=None) -> int:
    """Check that a local checkpoint holds weights of ``model``.

    Args:
        model (nn.Module): the model (a DDP wrapper is unwrapped).
        filename (str): the checkpoint.
        mode (str): what the checkpoint must provide:

            - ``'partial'`` (``load_from`` in training): at least one of the
              model's tensors (by name and shape); fewer than all is a
              warning;
            - ``'model'`` (test, demo, inference): every tensor of the model
              (``num_batches_tracked`` counters excepted); extra tensors
              are a warning;
            - ``'resume'``: exactly the model's tensors, so that the
              optimizer state fits too.
        checkpoint (dict, optional): the file's content when already
            loaded; read with :func:`~densesiam_mm.checkpoint.
            load_checkpoint_file` otherwise.

    Returns:
        int: the number of the model's tensors the file provides. Remote
        files (``http://``, ...) are not checked (returns -1).

    Raises:
        ValueError: the checkpoint does not fit ``model`` in that mode; the
            message names the file and the missing / extra tensors.
    """
    if mode not in ('partial', 'model', 'resume'):
        raise ValueError(f'unknown mode {mode!r}')
    if checkpoint is None:
        if not is_local_file(filename):
            return -1
        checkpoint = load_checkpoint_file(filename, map_location='cpu')
    model = getattr(model, 'module', model)
    name = type(model).__name__
    expected = {k: v.shape for k, v in model.state_dict().items()}
    given = unwrap_state_dict(checkpoint)
    match = match_state_dict(expected, given)
    matched, unexpected = match.matched, match.unexpected
    if not matched:
        mismatched = [k for k in given if k in expected]
        detail = (f'{len(mismatched)} share a name but not the shape, e.g. '
                  f'{mismatched[0]}: {tuple(given[mismatched[0]].shape)} vs '
                  f'{tuple(expected[mismatched[0]])}' if mismatched else
                  f'e.g. it has {sorted(given)[:3]}, the model expects '
                  f'{sorted(expected)[:3]}')
        raise ValueError(
            f'{filename}: none of its {len(given)} tensors fits '
            f'{name} ({detail}). It is a checkpoint of '
            'another model. To initialise only the backbone from it, use '
            'model.backbone.init_cfg=dict(type="Pretrained", '
            f'checkpoint="{filename}") (with prefix="backbone." if its '
            'backbone keys start with "backbone.").')
    missing = match.not_loaded
    shape = [k for k in missing if k in given]
    if mode != 'partial' and missing:
        detail = f'; {len(shape)} of them with another shape, e.g. ' \
            f'{shape[0]}: {tuple(given[shape[0]].shape)} vs ' \
            f'{tuple(expected[shape[0]])}' if shape else ''
        what = ('cannot resume from it: it is a checkpoint of another model'
                if mode == 'resume' else
                'it is a checkpoint of another model (or of a part of it); '
                'those weights would stay random')
        raise ValueError(
            f'{filename}: lacks {len(missing)} of the {len(expected)} '
            f'tensors of {name}: {key_groups(missing)}, e.g. '
            f'{", ".join(missing[:3])}{detail}. {what}.')
    if mode == 'resume' and unexpected:
        raise ValueError(
            f'{filename}: cannot resume from it: it is a checkpoint of '
            f'another model ({len(unexpected)} of its tensors are not in '
            f'{name}: {key_groups(unexpected)}, e.g. '
            f'{", ".join(unexpected[:3])}).')
    if missing:
        print_log(
            f'{filename}: provides {len(matched)} of the {len(expected)} '
            f'tensors of {name}; the others keep their '
            f'initialisation ({key_groups(missing)}).',
            logger='current',
            level=30)
    elif unexpected:
        print_log(
            f'{filename}: {len(unexpected)} of its tensors are not in '
            f'{name} and are ignored ({key_groups(unexpected)}).',
            logger='current',
            level=30)
    return len(matched)


def load_weights_strictly(model: torch.nn.Module, filename: str) -> dict:
    """Load ``filename`` into ``model``; every model tensor must be in it
    (test, demo, inference). Returns the loaded checkpoint dict.

    A local file is read once, with
    :func:`~densesiam_mm.checkpoint.load_checkpoint_file`; a remote one
    (``http://``, ...) gets mmengine's strict loading.

    Raises:
        ValueError: the file lacks tensors of the model (listed, see
            ``mode='model'`` of :func:`check_checkpoint_matches`), or is
            corrupted (checksum).
    """
    from mmengine.runner import load_checkpoint, load_state_dict
    if not is_local_file(filename):
        return load_checkpoint(
            model, filename, map_location='cpu', strict=True)
    checkpoint = load_checkpoint_file(filename, map_location='cpu')
    check_checkpoint_matches(model, filename, 'model', checkpoint)
    load_state_dict(
        getattr(model, 'module', model),
        unwrap_state_dict(checkpoint),
        strict=False,
        logger='current')
    return checkpoint


def check_train_batches(dataloader, world_size: int = 1) -> int:
    """Refuse a training data loader that yields no batch.

    Args:
        dataloader: the built ``torch.utils.data.DataLoader``.
        world_size (int): number of training processes.

    Returns:
        int: batches per epoch and process (``-1`` for an infinite sampler).

    Raises:
        ValueError: the data set is empty, or smaller than one batch per
            process with ``drop_last=True``; names the numbers and fields.
    """
    dataset = dataloader.dataset
    num_images = len(dataset)
    where = getattr(dataset, 'data_root', '') or getattr(
        dataset, 'ann_file', '') or type(dataset).__name__
    if num_images == 0:
        raise ValueError(f'train_dataloader: the data set ({where}) is empty.')
    if type(dataloader.sampler).__name__ == 'InfiniteSampler':
        return -1
    try:
        num_batches = len(dataloader)
    except TypeError:  # an iterable data set: no length to check
        return -1
    if num_batches == 0:
        batch = dataloader.batch_size
        per_process = len(dataloader.sampler)
        raise ValueError(
            f'train_dataloader: the data set ({where}) has {num_images} '
            f'images, fewer than train_dataloader.batch_size={batch} x '
            f'{world_size} process(es) = {batch * world_size}, and '
            'drop_last=True: every epoch would train 0 iterations and '
            'save an untrained model. Use at most '
            f'train_dataloader.batch_size={max(per_process, 1)} (per '
            'process), fewer processes, or more images.')
    return num_batches


def guard_batch_norm(model: nn.Module) -> nn.Module:
    """Make every BN layer name the batch-size field when, in training, it
    would see a single value per channel (torch: "Expected more than 1
    value per channel when training").

    A forward pre-hook on each ``_BatchNorm`` (not ``SyncBatchNorm``, which
    normalises over all processes); returns ``model``.
    """

    def check(module, args):
        x = args[0] if args else None
        if not (module.training and torch.is_tensor(x) and x.dim() >= 2):
            return
        if x.numel() // max(x.size(1), 1) == 1:
            raise ValueError(
                f'BN layer {module._guard_name!r} ({type(module).__name__}) '
                'got one '
                f'value per channel (input {tuple(x.shape)}): a batch of 1 '
                'on this process. Use train_dataloader.batch_size >= 2 per '
                'process and, if the data set size leaves a last batch of 1, '
                'train_dataloader.drop_last=True.')

    for name, module in model.named_modules():
        # SyncBN normalises over all processes: torch checks the global size
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
                not isinstance(module, nn.SyncBatchNorm) and \
                not getattr(module, '_guard_name', None):
            module._guard_name = name
            module.register_forward_pre_hook(check)
    return model
