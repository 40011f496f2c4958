# Copyright (c) densesiam_mm contributors. All rights reserved.
import math


def check_loss_weight(owner: str, name: str, value) -> float:
    """Validate a loss-weight config field (a lambda of the paper).

    Args:
        owner (str): the model type, for the message (e.g. ``'DenseSiam'``).
        name (str): the field, e.g. ``'dense_loss_weight'``.
        value: the configured value.

    Returns:
        float: ``value``, a finite number >= 0 (bools, NaN, inf and negative
        numbers raise ``ValueError`` naming the field).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < math.inf:
        raise ValueError(f'{owner}: `{name}` must be a finite number >= 0, '
                         f'got {value!r}.')
    return value
