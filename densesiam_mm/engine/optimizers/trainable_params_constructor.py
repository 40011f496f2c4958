# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Optimizer wrapper constructor that leaves frozen parameters out."""
import logging
import re
from collections import Counter
from typing import List

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS

# mmengine's per-parameter message (DefaultOptimWrapperConstructor.add_params)
_SKIPPED = re.compile(r'^(?P<name>\S+) is skipped since its '
                      r'requires_grad=False$')


class _FrozenParamsFilter(logging.Filter):
    """Drops mmengine's "X is skipped since its requires_grad=False" records
    and keeps the names, for one summary line instead."""

    def __init__(self) -> None:
        super().__init__()
        self.names: List[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        match = _SKIPPED.match(str(record.msg))
        if match is None:
            return True
        self.names.append(match.group('name'))
        return False


def summarize_frozen(names: List[str]) -> str:
    """One line for the frozen parameters ``names``, grouped by their first
    two name components, e.g. ``backbone.patch_embed (2)``."""
    groups = Counter('.'.join(name.split('.')[:2]) for name in names)
    parts = [
        key if count == 1 else f'{key} ({count})'
        for key, count in groups.items()
    ]
    return (f'TrainableParamsOptimWrapperConstructor: {len(names)} frozen '
            'parameters (requires_grad=False) kept out of the optimizer: ' +
            ', '.join(parts) + '.')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, without ``requires_grad=False``
    parameters, with or without ``paramwise_cfg``.

    Without ``paramwise_cfg`` mmengine hands ``model.parameters()``, frozen
    ones included, to the optimizer (they are skipped at each step only
    because their gradient is ``None``); with it, mmengine skips them.
    SiameseIM freezes its patch embedding and position table and holds an
    EMA target whose parameters never get gradients; as the authors' timm
    parameter groups, this constructor leaves all of them out in both cases,
    so no optimizer state or weight decay can touch them. ``paramwise_cfg``
    (``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``,
    ``custom_keys``) works as in mmengine.

    mmengine logs one warning per frozen parameter (81 for the SiameseIM
    demo); they are expected here, so this constructor logs one summary
    line instead (a logging filter on the current logger, only during its
    own ``add_params`` call).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if not self.paramwise_cfg:
            # Go through add_params (mmengine skips it without options).
            self.paramwise_cfg = dict(bypass_duplicate=False)

    def add_params(self, params, module, prefix: str = '', **kwargs) -> None:
        if prefix != '':  # a recursive call, inside the top-level one
            super().add_params(params, module, prefix=prefix, **kwargs)
            return
        logger = MMLogger.get_current_instance()
        frozen = _FrozenParamsFilter()
        logger.addFilter(frozen)
        try:
            super().add_params(params, module, prefix=prefix, **kwargs)
        finally:
            logger.removeFilter(frozen)
        params[:] = [
            group for group in params
            if all(p.requires_grad for p in group['params'])
        ]
        if frozen.names:
            print_log(
                summarize_frozen(frozen.names),
                logger='current',
                level=logging.INFO)
