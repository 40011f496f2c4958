# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Matching checkpoint tensors to a model's, by name and shape.

- :func:`unwrap_state_dict`: the model weights of a loaded checkpoint
  (``state_dict`` or ``model`` entry, DDP ``module.`` prefix removed);
- :func:`select_prefix`: the weights under a prefix (``backbone.``), prefix
  removed (:func:`extract_prefix`: the same, an error when there are
  none); :func:`suggest_prefix` finds the prefix that fits a model best;
- :func:`match_state_dict`: which of a model's tensors a state dict
  provides (:class:`KeyMatch`).

The pre-flight checks of the tools, ``CheckedPretrained`` and the probes'
backbone loading all use these, so "fits the model" means the same thing
everywhere.
"""
from collections import Counter, OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import torch

from .errors import CheckpointFileError

#: the prefix ``DistributedDataParallel`` adds to every key
WRAPPER_PREFIX = 'module.'


def is_optional_key(key: str) -> bool:
    """Model tensors a checkpoint may lack (BN's batch counters)."""
    return key.endswith('num_batches_tracked')


def key_groups(keys, limit: int = 6) -> str:
    """``decode_head.* (24), classifier.* (2)``: keys by top-level module."""
    counts = Counter(key.split('.')[0] for key in keys)
    text = ', '.join(f'{name}.* ({num})'
                     for name, num in counts.most_common(limit))
    return text + (', ...' if len(counts) > limit else '')


def unwrap_state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    """The model tensors of a loaded checkpoint.

    Takes the ``state_dict`` entry (mmengine) or the ``model`` entry (e.g.
    the SiameseIM authors' release) when it is a dict, else the checkpoint
    itself (a bare state dict, e.g. torchvision's); removes a leading DDP
    ``module.`` from each key and drops non-tensor entries. Anything but a
    dict gives an empty dict.

    Returns:
        OrderedDict[str, Tensor]: the weights, in the stored order.
    """
    if not isinstance(checkpoint, Mapping):
        return OrderedDict()
    weights = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), Mapping):
            weights = checkpoint[key]
            break
    return OrderedDict(
        (k[len(WRAPPER_PREFIX):] if k.startswith(WRAPPER_PREFIX) else k, v)
        for k, v in weights.items() if torch.is_tensor(v))


def select_prefix(state_dict: Mapping, prefix: str) -> OrderedDict:
    """The entries of ``state_dict`` under ``prefix`` (``'backbone'`` or
    ``'backbone.'``), prefix removed, in the stored order."""
    if not prefix.endswith('.'):
        prefix += '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def extract_prefix(state_dict: Mapping,
                   prefix: str = 'backbone.',
                   filename: str = 'checkpoint') -> OrderedDict:
    """:func:`select_prefix` for a converter: the ``prefix`` entries of an
    unwrapped state dict (e.g. the backbone of a pre-training checkpoint),
    prefix removed.

    Raises:
        CheckpointFileError: no key has the prefix; the message names
            ``filename``, the file's key groups and, for a file that
            already looks like a backbone, how to use it directly.
    """
    if not prefix.endswith('.'):
        prefix += '.'
    selected = select_prefix(state_dict, prefix)
    if not selected:
        groups = sorted({key.split('.')[0] for key in state_dict})
        hint = ''
        if 'conv1' in groups and 'layer1' in groups:
            hint = (' Its keys look like a backbone-only file already; '
                    'use it directly with init_cfg=dict(type="Pretrained", '
                    'checkpoint=...) and no prefix.')
        raise CheckpointFileError(
            f'{filename} has no backbone weights: no key starts with '
            f'"{prefix}" (top-level groups: {groups[:10]}).{hint}')
    return selected


class KeyMatch(NamedTuple):
    """Which tensors of a model a state dict provides.

    Attributes:
        matched (list[str]): model keys the state dict has with the same
            shape (model order).
        missing (list[str]): model keys the state dict lacks, optional ones
            (:func:`is_optional_key`) excepted (model order).
        wrong_shape (list[str]): model keys the state dict has with another
            shape (model order).
        unexpected (list[str]): state-dict keys the model lacks (file
            order).
    """
    matched: List[str]
    missing: List[str]
    wrong_shape: List[str]
    unexpected: List[str]

    @property
    def not_loaded(self) -> List[str]:
        """Model keys that would keep their initialisation: missing, then
        with another shape (optional keys excepted)."""
        return self.missing + [
            k for k in self.wrong_shape if not is_optional_key(k)
        ]


def match_state_dict(expected_shapes: Mapping[str, Sequence[int]],
                     given: Mapping[str, torch.Tensor]) -> KeyMatch:
    """Match ``given`` tensors to a model's by name and shape.

    Args:
        expected_shapes (Mapping[str, Sequence[int]]): the model's keys and
            shapes, e.g. ``{k: v.shape for k, v in
            model.state_dict().items()}``.
        given (Mapping[str, Tensor]): the (unwrapped) state dict.

    Returns:
        KeyMatch: matched, missing, wrong-shape and unexpected keys.
    """
    matched, missing, wrong_shape = [], [], []
    for key, shape in expected_shapes.items():
        if key not in given:
            if not is_optional_key(key):
                missing.append(key)
        elif tuple(given[key].shape) == tuple(shape):
            matched.append(key)
        else:
            wrong_shape.append(key)
    unexpected = [k for k in given if k not in expected_shapes]
    return KeyMatch(matched, missing, wrong_shape, unexpected)


def suggest_prefix(expected_shapes: Mapping[str, Sequence[int]],
                   state_dict: Mapping[str, torch.Tensor]) -> Optional[str]:
    """The ``prefix`` under which ``state_dict`` fits the model best (e.g.
    ``'backbone.'``), or None when no prefix matches any tensor."""
    best, best_count = None, 0
    for group in Counter(k.split('.')[0] for k in state_dict):
        count = len(
            match_state_dict(expected_shapes, select_prefix(state_dict,
                                                            group)).matched)
        if count > best_count:
            best, best_count = group + '.', count
    return best
