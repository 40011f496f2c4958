# Copyright (c) densesiam_mm contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained', ...)`` that cannot silently load
nothing.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs the
missing keys: ``model.backbone.init_cfg=dict(type='Pretrained',
checkpoint=<a DenseSiam checkpoint>)`` without ``prefix='backbone.'``
matches 0 tensors (the file's keys are ``backbone.conv1.weight``, the
backbone's ``conv1.weight``) and training goes on from random weights,
exit code 0. :class:`CheckedPretrainedInit` replaces it under the same name
(``Pretrained``, in mmengine's root ``WEIGHT_INITIALIZERS``, so every
OpenMMLab scope uses it once ``densesiam_mm`` is imported) and requires
the file to provide, by name and shape,

- at least ``min_loaded_ratio`` (default 90 %) of the tensors of the module,
  or, for a module with a ``backbone`` (an ``init_cfg`` on a whole model),
  of its backbone; ``num_batches_tracked`` counters excepted.

Otherwise it raises ``ValueError`` naming the file, the numbers, and the
``prefix`` that would match when there is one. A few tensors the file lacks
(a layer that fine-tuning adds, e.g. the ViT's ``ln2`` after global pooling
in mmpretrain's MAE benchmark configs) are listed in a warning and keep their
initialisation. ``allow_partial=True`` in the ``init_cfg`` keeps mmengine's
permissive behaviour (with the counts in a warning).
"""
import logging
from collections import Counter

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

from .input_checks import _groups, _optional


def _strip_wrapper(state_dict: dict) -> dict:
    return {
        (k[7:] if k.startswith('module.') else k): v
        for k, v in state_dict.items()
    }


def _with_prefix(state_dict: dict, prefix: str) -> dict:
    """The entries under ``prefix``, prefix removed."""
    if not prefix.endswith('.'):
        prefix += '.'
    return {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }


def _fits(expected: dict, given: dict) -> list:
    return [
        k for k, v in given.items()
        if k in expected and tuple(expected[k]) == tuple(v.shape)
    ]


def suggest_prefix(expected: dict, state_dict: dict):
    """The ``prefix`` under which ``state_dict`` fits ``expected`` best
    (e.g. ``'backbone.'``), or None."""
    best, best_count = None, 0
    for group in Counter(k.split('.')[0] for k in state_dict):
        count = len(_fits(expected, _with_prefix(state_dict, group)))
        if count > best_count:
            best, best_count = group + '.', count
    return best


class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``PretrainedInit``, refusing a load that leaves the
    (backbone) module at random weights.

    Args:
        checkpoint (str): the checkpoint file.
        prefix (str, optional): keep only keys with this prefix, prefix
            removed (e.g. ``'backbone.'`` for a pre-training checkpoint).
        map_location (str): Defaults to ``'cpu'``.
        allow_partial (bool): only warn when tensors are missing. Defaults
            to False.
        min_loaded_ratio (float): the share of the required tensors the
            file must provide; fewer is an error. Defaults to 0.9.
    """

    def __init__(self,
                 checkpoint,
                 prefix=None,
                 map_location='cpu',
                 allow_partial: bool = False,
                 min_loaded_ratio: float = 0.9):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        if not 0 < min_loaded_ratio <= 1:
            raise ValueError('Pretrained init_cfg: `min_loaded_ratio` must be '
                             f'in (0, 1], got {min_loaded_ratio!r}.')
        self.allow_partial = allow_partial
        self.min_loaded_ratio = min_loaded_ratio

    def __call__(self, module):
        checkpoint = _load_checkpoint(self.checkpoint,
                                      map_location=self.map_location)
        state_dict = checkpoint.get('state_dict', checkpoint) \
            if isinstance(checkpoint, dict) else {}
        state_dict = _strip_wrapper(state_dict)
        name = type(module).__name__
        expected = {k: v.shape for k, v in module.state_dict().items()}
        full = state_dict
        if self.prefix:
            state_dict = _with_prefix(state_dict, self.prefix)
        loaded = set(_fits(expected, state_dict))
        required = [k for k in expected if not _optional(k)]
        if hasattr(module, 'backbone') and any(
                k.startswith('backbone.') for k in expected):
            required = [k for k in required if k.startswith('backbone.')]
            what = f'the backbone of {name}'
        else:
            what = name
        missing = [k for k in required if k not in loaded]
        print_log(f'Pretrained: {self.checkpoint}' +
                  (f' (prefix {self.prefix!r})' if self.prefix else '') +
                  f' provides {len(loaded)} of the {len(expected)} tensors of '
                  f'{name}.',
                  logger='current')
        if missing:
            hint = ''
            better = suggest_prefix(expected, full)
            if better and not self.prefix:
                count = len(_fits(expected, _with_prefix(full, better)))
                hint = f" Set prefix='{better}' in the init_cfg: with it " \
                    f'{count} tensors match.'
            elif self.prefix and not state_dict:
                hint = f' No key of the file starts with {self.prefix!r} ' \
                    f'(its groups: {_groups(full)}).' + (
                        f" Use prefix='{better}'." if better else '')
            message = (
                f'Pretrained init of {name} from {self.checkpoint}: '
                f'{len(missing)} of the {len(required)} tensors of {what} '
                f'are not in the file (by name and shape): '
                f'{_groups(missing)}, e.g. {", ".join(missing[:3])}; they '
                f'would keep random weights.{hint}')
            enough = len(required) - len(missing) >= \
                self.min_loaded_ratio * len(required)
            if not self.allow_partial and not enough:
                raise ValueError(message +
                                 ' (allow_partial=True accepts this.)')
            print_log(message, logger='current', level=logging.WARNING)
        load_state_dict(module, state_dict, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


WEIGHT_INITIALIZERS.register_module(name='Pretrained',
                                    module=CheckedPretrainedInit,
                                    force=True)
