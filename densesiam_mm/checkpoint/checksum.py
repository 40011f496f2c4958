# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checksums of the tensors of a checkpoint.

The checksum (:func:`tensor_checksum`) is the sha256 of every tensor of the
checkpoint outside ``meta`` (name, dtype, shape and bytes, in the stored
order), so it survives copying the file and does not depend on the zip
layout torch writes. :class:`~densesiam_mm.engine.hooks.AtomicCheckpointHook`
and the model converters store it in ``meta['sha256']``;
:func:`~densesiam_mm.checkpoint.load_checkpoint_file` verifies it, so
flipped bytes in tensor data are an error naming the file, never silently
corrupted weights.
"""
import hashlib

import torch

from .errors import CheckpointFileError

#: ``meta`` key of the checksum written by this package
CHECKSUM_KEY = 'sha256'


def _tensors(obj, path: str = ''):
    """``(path, tensor)`` of every tensor in nested dicts/lists, in order."""
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tensors(value, f'{path}/{key}')
    elif isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            yield from _tensors(value, f'{path}/{index}')


def tensor_checksum(checkpoint: dict) -> str:
    """sha256 (hex) of the tensors of ``checkpoint`` outside ``meta``.

    Each tensor contributes its path in the checkpoint (e.g.
    ``/state_dict/backbone.conv1.weight``), dtype, shape and bytes; the
    device and the storage layout do not matter.
    """
    sha = hashlib.sha256()
    body = {k: v for k, v in checkpoint.items() if k != 'meta'}
    for path, tensor in _tensors(body):
        sha.update(f'{path}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        if tensor.layout != torch.strided or tensor.is_meta:
            continue  # sparse/meta tensors: name and shape only
        data = tensor.detach().cpu().contiguous().reshape(-1)
        sha.update(
            data.view(torch.uint8).numpy().tobytes() if data.numel() else b'')
    return sha.hexdigest()


def add_checksum(checkpoint: dict) -> dict:
    """Store :func:`tensor_checksum` in ``checkpoint['meta']['sha256']``."""
    meta = checkpoint.setdefault('meta', {})
    meta[CHECKSUM_KEY] = tensor_checksum(checkpoint)
    return checkpoint


def verify_checksum(checkpoint, filename: str) -> bool:
    """Check the stored checksum of a loaded checkpoint.

    Returns True when verified, False when the checkpoint has none (e.g.
    written by plain mmengine or torch).

    Raises:
        CheckpointFileError: the tensors differ from what was saved (naming
            the file).
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    expected = meta.get(CHECKSUM_KEY) if isinstance(meta, dict) else None
    if not isinstance(expected, str):
        return False
    actual = tensor_checksum(checkpoint)
    if actual != expected:
        raise CheckpointFileError(
            f'{filename} is corrupted: its tensors do not match the sha256 '
            f'stored when it was saved (stored {expected[:12]}..., now '
            f'{actual[:12]}...). Do not train or evaluate from it; use an '
            'earlier checkpoint (`--resume PATH`) or copy it again.')
    return True
