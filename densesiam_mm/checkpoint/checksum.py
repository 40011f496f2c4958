# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Checksums of the tensors of a checkpoint.

:func:`add_checksum` stores two things in ``meta``, computed in one pass
over every tensor of the checkpoint outside ``meta``:

- ``meta['sha256']`` (:func:`tensor_checksum`): the sha256 of all tensors
  (path in the checkpoint, dtype, shape and bytes, in the stored order), so
  it survives copying the file and does not depend on the zip layout torch
  writes;
- ``meta['sha256_tensors']`` (:func:`tensor_digests`): per tensor path,
  its dtype, shape and a short sha256 of its bytes (about 100 bytes a
  tensor: 50 KB, 0.03 %, for a 188 MB ResNet-50 checkpoint with its SGD
  momentum).

:class:`~densesiam_mm.engine.hooks.AtomicCheckpointHook`, the model
converters and ``tools/model_converters/publish_model.py`` stamp them;
:func:`~densesiam_mm.checkpoint.load_checkpoint_file` verifies them
(:func:`verify_checksum`):

- everything matches: verified;
- a tensor kept its path, dtype and shape but its bytes changed: the file
  is **corrupted** (an error naming the file and the tensors);
- otherwise tensors were removed, added, cast to another dtype or
  reshaped, and every tensor that is left unchanged matches its digest:
  the file was **modified after it was written** (e.g. its optimizer
  dropped or its weights cast to float16 for publishing). That is a
  warning saying what changed, not an error; the changed tensors are not
  verified. Tools that edit checkpoints restamp the checksum
  (:func:`add_checksum`), so their output verifies fully.

A checkpoint with ``meta['sha256']`` but without the digests (written
before they existed) can only be verified as a whole: any difference is
reported as corruption.
"""
import hashlib
import logging
from collections import Counter, defaultdict
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log

from .errors import CheckpointFileError

#: ``meta`` key of the checksum written by this package
CHECKSUM_KEY = 'sha256'
#: ``meta`` key of the per-tensor digests (path -> ``dtype:shape:digest``)
DIGESTS_KEY = 'sha256_tensors'
#: hex digits of a per-tensor digest (64 bits)
DIGEST_LENGTH = 16


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


def _data(tensor: torch.Tensor):
    """The bytes of ``tensor`` (a buffer), or None for sparse and meta
    tensors (which contribute name and shape only)."""
    if tensor.layout != torch.strided or tensor.is_meta:
        return None
    data = tensor.detach().cpu().contiguous().reshape(-1)
    return data.view(torch.uint8).numpy() if data.numel() else b''


def _dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).replace('torch.', '')


def _checksums(checkpoint: dict,
               digests: bool) -> Tuple[str, Optional[Dict[str, str]]]:
    """:func:`tensor_checksum` and, if ``digests``, :func:`tensor_digests`
    in one pass over the tensors."""
    sha = hashlib.sha256()
    table = {} if digests else None
    body = {k: v for k, v in checkpoint.items() if k != 'meta'}
    for path, tensor in _tensors(body):
        sha.update(f'{path}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        data = _data(tensor)
        if data is not None:
            sha.update(data)
        if table is not None:
            digest = hashlib.sha256(data if data is not None else b'')
            shape = 'x'.join(map(str, tensor.shape))
            table[path] = (f'{_dtype_name(tensor)}:{shape}:'
                           f'{digest.hexdigest()[:DIGEST_LENGTH]}')
    return sha.hexdigest(), table


def tensor_checksum(checkpoint: dict) -> str:
    """sha256 (hex) of the tensors of ``checkpoint`` outside ``meta``.

    Each tensor contributes its path in the checkpoint (e.g.
    ``/state_dict/backbone.conv1.weight``), dtype, shape and bytes; the
    device and the storage layout do not matter.
    """
    return _checksums(checkpoint, digests=False)[0]


def tensor_digests(checkpoint: dict) -> Dict[str, str]:
    """Per tensor of ``checkpoint`` outside ``meta``, its path ->
    ``'<dtype>:<shape>:<digest>'`` (e.g. ``'float32:64x3x7x7:1f...'``,
    the digest: the first 16 hex digits of the sha256 of its bytes)."""
    return _checksums(checkpoint, digests=True)[1]


def add_checksum(checkpoint: dict) -> dict:
    """Store :func:`tensor_checksum` in ``checkpoint['meta']['sha256']``
    and :func:`tensor_digests` in ``meta['sha256_tensors']`` (replacing
    earlier ones: call it after editing a checkpoint)."""
    meta = checkpoint.setdefault('meta', {})
    meta[CHECKSUM_KEY], meta[DIGESTS_KEY] = _checksums(
        checkpoint, digests=True)
    return checkpoint


def _parse(entry) -> Optional[Tuple[str, str, str]]:
    parts = entry.split(':') if isinstance(entry, str) else []
    return tuple(parts) if len(parts) == 3 else None


def _entry(path: str) -> str:
    """The top-level entry of a tensor path (``/optimizer/state/0/...`` ->
    ``optimizer``)."""
    return path.split('/')[1] if path.count('/') >= 1 else path


def _group(paths: List[str], stored_paths: List[str], verb: str) -> List[str]:
    """``optimizer removed`` when every tensor of an entry is in ``paths``,
    else ``N tensor(s) removed from state_dict (e.g. ...)``."""
    whole = Counter(map(_entry, stored_paths))
    by_entry = defaultdict(list)
    for path in paths:
        by_entry[_entry(path)].append(path)
    parts = []
    for entry, members in by_entry.items():
        if len(members) == whole.get(entry, 0):
            parts.append(f'{entry} {verb}')
        else:
            where = 'from' if verb == 'removed' else 'to'
            parts.append(f'{len(members)} tensor(s) {verb} {where} {entry} '
                         f'(e.g. {members[0].split("/", 2)[-1]})')
    return parts


def compare_digests(stored: Dict[str, str],
                    current: Dict[str, str]) -> Tuple[List[str], List[str]]:
    """Compare :func:`tensor_digests` of a checkpoint as saved and as
    loaded.

    Returns:
        tuple[list[str], list[str]]: the corrupted tensor paths (same
        dtype and shape, other bytes), and a description of each
        modification (entries or tensors removed or added, tensors cast or
        reshaped); both empty when the tensors are the same.
    """
    corrupted, cast, reshaped = [], Counter(), []
    for path in stored.keys() & current.keys():
        old, new = _parse(stored[path]), _parse(current[path])
        if old is None or new is None or old == new:
            continue
        if old[:2] == new[:2]:
            corrupted.append(path)
        elif old[0] != new[0]:
            cast[(old[0], new[0])] += 1
        else:
            reshaped.append(path)
    removed = [p for p in stored if p not in current]
    added = [p for p in current if p not in stored]
    changes = _group(removed, list(stored), 'removed')
    changes += _group(added, list(current), 'added')
    changes += [
        f'{n} tensor(s) cast from {old} to {new}'
        for (old, new), n in sorted(cast.items())
    ]
    if reshaped:
        changes.append(f'{len(reshaped)} tensor(s) reshaped (e.g. '
                       f'{reshaped[0].split("/", 2)[-1]})')
    return sorted(corrupted), changes


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


def _corrupted(filename: str, expected: str, actual: str,
               tensors: List[str]) -> CheckpointFileError:
    which = ''
    if tensors:
        names = ', '.join(p.split('/', 2)[-1] for p in tensors[:3])
        which = (f' ({len(tensors)} tensor(s) with their saved name, dtype '
                 f'and shape hold other bytes: {names}'
                 f'{", ..." if len(tensors) > 3 else ""})')
    return CheckpointFileError(
        f'{filename} is corrupted: its tensors do not match the sha256 '
        f'stored when it was saved{which} (stored {expected[:12]}..., now '
        f'{actual[:12]}...). Do not train or evaluate from it; use an '
        'earlier checkpoint (`--resume PATH`) or copy it again. (If you '
        'changed these values on purpose, store a new checksum with '
        '`densesiam_mm.checkpoint.add_checksum`.)')


def verify_checksum(checkpoint,
                    filename: str,
                    warn: Callable[[str], None] = _warn) -> bool:
    """Check the stored checksum of a loaded checkpoint (see the module
    doc).

    Returns True when verified; False when the checkpoint has no checksum
    (e.g. written by plain mmengine or torch) or was modified after it was
    written (then ``warn`` -- the current logger by default -- gets a
    message naming the file and the modifications).

    Raises:
        CheckpointFileError: a tensor kept its name, dtype and shape but
            its bytes differ from what was saved, or the checkpoint has no
            per-tensor digests and its tensors differ (naming the file).
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    expected = meta.get(CHECKSUM_KEY) if isinstance(meta, dict) else None
    if not isinstance(expected, str):
        return False
    actual = tensor_checksum(checkpoint)
    if actual == expected:
        return True
    stored = meta.get(DIGESTS_KEY)
    if not isinstance(stored, dict):
        raise _corrupted(filename, expected, actual, [])
    current = tensor_digests(checkpoint)
    corrupted, changes = compare_digests(stored, current)
    if corrupted:
        raise _corrupted(filename, expected, actual, corrupted)
    if not changes:
        return True  # the same tensors in another order
    unchanged = sum(1 for p, d in current.items() if stored.get(p) == d)
    warn(f'{filename} was modified after it was written '
         f'({"; ".join(changes)}); its {unchanged} unchanged tensor(s) '
         'match the digests stored when it was saved, the changed ones are '
         'not verified. Expected for a file edited on purpose; to verify '
         'it fully again, restamp it (`python tools/model_converters/'
         'publish_model.py IN OUT` or `densesiam_mm.checkpoint.'
         'add_checksum`).')
    return False
