# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A ``Pretrained`` init that cannot silently load nothing.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs the
missing keys: ``model.backbone.init_cfg=dict(type='Pretrained',
checkpoint=<a DenseSiam checkpoint>)`` without ``prefix='backbone.'``
matches 0 tensors (the file's keys are ``backbone.conv1.weight``, the
backbone's ``conv1.weight``) and training goes on from random weights,
exit code 0. The check of :class:`CheckedPretrainedInit` requires the file
to provide, by name and shape,

- at least ``min_loaded_ratio`` (default 90 %) of the tensors of the module,
  or, for a module with a ``backbone`` (an ``init_cfg`` on a whole model),
  of its backbone; ``num_batches_tracked`` counters excepted.

Otherwise it raises ``ValueError`` naming the file, the numbers, and the
``prefix`` that would match when there is one. A few tensors the file lacks
(a layer that fine-tuning adds, e.g. the ViT's ``ln2`` after global pooling
in mmpretrain's MAE benchmark configs) are listed in a warning and keep their
initialisation. ``allow_partial=True`` keeps mmengine's permissive
behaviour (with the counts in a warning).

Where the check runs. The literal type ``'Pretrained'`` is special-cased
upstream: mmengine's ``BaseModule.init_weights`` applies it after the
children's own initialisation, mmpretrain's ``ResNet`` then skips
``zero_init_residual`` (which zeroes the last BN of every block) and its
``VisionTransformer`` skips re-drawing ``pos_embed``. An initializer of
another name loads before the children re-initialise and is followed by
those re-initialisations, so the checked load must happen under the name
``Pretrained``. Hence:

- the tools (:func:`~densesiam_mm.apis.build_runner`) call
  :func:`check_pretrained_inits` on the built model, before it is
  initialised: every ``Pretrained`` and ``CheckedPretrained`` ``init_cfg``
  with a local file is checked, and ``CheckedPretrained`` becomes
  mmengine's ``Pretrained`` (same file and prefix), so the weights are
  loaded by mmengine exactly as without this package; the log says where;
- ``CheckedPretrained`` is also registered (beside mmengine's
  ``Pretrained``, which is left as it is) for a model initialised outside
  the tools; it checks and loads, but with the caveat above: use it there
  only on modules that do not special-case ``'Pretrained'``.
"""
import logging
from typing import Callable, List, Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner import CheckpointLoader, load_state_dict

from .loading import is_local_file, load_checkpoint_file
from .matching import (is_optional_key, key_groups, match_state_dict,
                       select_prefix, suggest_prefix, unwrap_state_dict)

#: the ``init_cfg`` types :func:`check_pretrained_inits` checks
PRETRAINED_TYPES = ('Pretrained', 'CheckedPretrained')


def _read(filename: str, map_location):
    """Local files through :func:`load_checkpoint_file` (checked, checksum
    verified); URLs and ``torchvision://`` names through mmengine's
    loader."""
    if is_local_file(filename):
        return load_checkpoint_file(filename, map_location=map_location)
    return CheckpointLoader.load_checkpoint(
        filename, map_location=map_location, logger='current')


@WEIGHT_INITIALIZERS.register_module(name='CheckedPretrained')
class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``PretrainedInit``, refusing a load that leaves the
    (backbone) module at random weights (see the module doc for where to
    use it).

    Args:
        checkpoint (str): the checkpoint file (or URL).
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

    def check(self, module) -> dict:
        """Check that the file fits ``module`` (see the module doc) and
        return the state dict to load into it (prefix removed).

        Raises:
            ValueError: the file provides too few of the module's tensors.
        """
        full = unwrap_state_dict(_read(self.checkpoint, self.map_location))
        state_dict = select_prefix(full, self.prefix) if self.prefix \
            else full
        name = type(module).__name__
        expected = {k: v.shape for k, v in module.state_dict().items()}
        match = match_state_dict(expected, state_dict)
        missing = match.not_loaded
        required = [k for k in expected if not is_optional_key(k)]
        what = name
        if hasattr(module, 'backbone') and any(
                k.startswith('backbone.') for k in expected):
            missing = [k for k in missing if k.startswith('backbone.')]
            required = [k for k in required if k.startswith('backbone.')]
            what = f'the backbone of {name}'
        print_log(
            f'CheckedPretrained: {self.checkpoint}' +
            (f' (prefix {self.prefix!r})' if self.prefix else '') +
            f' provides {len(match.matched)} of the {len(expected)} '
            f'tensors of {name}.',
            logger='current')
        if missing:
            message = (
                f'Pretrained init of {name} from {self.checkpoint}: '
                f'{len(missing)} of the {len(required)} tensors of {what} '
                f'are not in the file (by name and shape): '
                f'{key_groups(missing)}, e.g. {", ".join(missing[:3])}; '
                'they would keep random weights.' +
                self._prefix_hint(expected, full, state_dict))
            enough = len(required) - len(missing) >= \
                self.min_loaded_ratio * len(required)
            if not self.allow_partial and not enough:
                raise ValueError(message +
                                 ' (allow_partial=True accepts this.)')
            print_log(message, logger='current', level=logging.WARNING)
        return state_dict

    def __call__(self, module):
        load_state_dict(
            module, self.check(module), strict=False, logger='current')
        try:
            update_init_info(
                module,
                init_info=f'{type(self).__name__}: load from '
                f'{self.checkpoint}')
        except (AssertionError, AttributeError):
            pass  # called outside ``init_weights``: no init info to update

    def _prefix_hint(self, expected: dict, full: dict,
                     state_dict: dict) -> str:
        better = suggest_prefix(expected, full)
        if better and not self.prefix:
            count = len(
                match_state_dict(expected, select_prefix(full,
                                                         better)).matched)
            return f" Set prefix='{better}' in the init_cfg: with it " \
                f'{count} tensors match.'
        if self.prefix and not state_dict:
            return f' No key of the file starts with {self.prefix!r} ' \
                f'(its groups: {key_groups(full)}).' + (
                    f" Use prefix='{better}'." if better else '')
        return ''


def _pretrained_entries(init_cfg) -> List[dict]:
    inits = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    return [
        init for init in inits
        if isinstance(init, dict) and init.get('type') in PRETRAINED_TYPES
    ]


def check_pretrained_inits(model,
                           log: Optional[Callable[[str],
                                                  None]] = None) -> List[str]:
    """Check every ``Pretrained`` / ``CheckedPretrained`` ``init_cfg`` of a
    built model before it is initialised, and let mmengine's ``Pretrained``
    load the weights.

    For each module whose ``init_cfg`` (a dict or a list) has such an entry
    with a local file, the file is checked against the module as
    :meth:`CheckedPretrainedInit.check` does (``allow_partial`` and
    ``min_loaded_ratio`` of a ``CheckedPretrained`` entry apply); a
    ``CheckedPretrained`` entry then becomes ``dict(type='Pretrained',
    checkpoint=..., prefix=..., map_location=...)`` in place. Remote files
    (``torchvision://``, URLs) are left to mmengine.

    Args:
        model (nn.Module): the model (a DDP wrapper is unwrapped).
        log (callable, optional): receives one line naming the checked
            places; the current logger by default.

    Returns:
        list[str]: the checked places, e.g. ``['backbone']``.

    Raises:
        ValueError: a file fits its module too little (see the module doc).
    """
    model = getattr(model, 'module', model)
    checked = []
    for name, module in model.named_modules():
        for init in _pretrained_entries(getattr(module, 'init_cfg', None)):
            if not is_local_file(init.get('checkpoint')):
                continue
            args = {k: v for k, v in init.items() if k != 'type'}
            CheckedPretrainedInit(**args).check(module)
            if init['type'] == 'CheckedPretrained':
                init.pop('allow_partial', None)
                init.pop('min_loaded_ratio', None)
                init['type'] = 'Pretrained'
            checked.append(name or 'model')
    if checked:
        line = ('Pretrained init_cfg checked (the file provides the '
                'module\'s tensors by name and shape; mmengine\'s Pretrained '
                'loads them) at: ' + ', '.join(checked))
        (log or (lambda text: print_log(text, logger='current')))(line)
    return checked
