# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Parts of a step that run in float32 under autocast."""
import contextlib

import torch


def autocast_off(device_type: str):
    """Context that disables autocast on ``device_type`` (a no-op context
    for devices without autocast, e.g. ``meta``).

    Used with ``.float()`` inputs around the parts that must stay float32
    under mixed precision: cosine similarities, softmax cross-entropies,
    InfoNCE logits and region sums, whose matmuls autocast would otherwise
    run in fp16/bf16 (``einsum``/``bmm`` are on autocast's lower-precision
    list: 8 or 11 mantissa bits for logits divided by a temperature).
    """
    try:
        return torch.autocast(device_type=device_type, enabled=False)
    except RuntimeError:
        return contextlib.nullcontext()
