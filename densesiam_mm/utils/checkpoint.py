# Copyright (c) densesiam_mm contributors. All rights reserved.
"""mmengine checkpoints under torch's ``weights_only`` default.

torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10 calls
``torch.load`` without it, and its own checkpoints (the message hub's
``HistoryBuffer``, numpy arrays and scalars in ``meta``) then fail to load, so
``--resume`` breaks. :func:`patch_checkpoint_loading` fixes both ends:

- saving: ``HistoryBuffer`` pickles as ``HistoryBuffer(log, counts,
  max_length)`` instead of carrying its statistics functions (which need
  ``builtins.getattr``, a global that must never be allow-listed);
- loading: mmengine's local-file loader becomes :func:`load_checkpoint_file`:

1. ``weights_only=True`` with the few types mmengine writes allow-listed;
2. if the file holds other Python objects (e.g. a checkpoint written by
   plain mmengine), the behaviour depends on
   ``DENSESIAM_WEIGHTS_ONLY``: ``auto`` (default) loads it with
   ``weights_only=False`` and logs a warning naming the file (only do this
   with files you trust), ``strict`` refuses with a clear error;
3. a checkpoint that carries a checksum (``meta['sha256']``, written by
   :class:`~densesiam_mm.engine.hooks.AtomicCheckpointHook` and the model
   converters) is verified: flipped bytes in tensor data are a
   ``ValueError`` naming the file, never silently corrupted weights.

The checksum (:func:`tensor_checksum`) is the sha256 of every tensor of the
checkpoint outside ``meta`` (name, dtype, shape and bytes, in the stored
order), so it survives copying the file and does not depend on the zip
layout torch writes.
"""
import copyreg
import hashlib
import importlib
import os
import os.path as osp
import pickle
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader


def _safe_globals() -> list:
    allowed = [HistoryBuffer, np.ndarray, np.dtype]
    multiarray = importlib.import_module(
        'numpy._core.multiarray' if np.__version__ >= '2' else
        'numpy.core.multiarray')
    allowed += [multiarray._reconstruct, multiarray.scalar]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


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
        sha.update(data.view(torch.uint8).numpy().tobytes()
                   if data.numel() else b'')
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
        ValueError: the tensors differ from what was saved (naming the file).
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    expected = meta.get(CHECKSUM_KEY) if isinstance(meta, dict) else None
    if not isinstance(expected, str):
        return False
    actual = tensor_checksum(checkpoint)
    if actual != expected:
        raise ValueError(
            f'{filename} is corrupted: its tensors do not match the sha256 '
            f'stored when it was saved (stored {expected[:12]}..., now '
            f'{actual[:12]}...). Do not train or evaluate from it; use an '
            'earlier checkpoint (`--resume PATH`) or copy it again.')
    return True


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load`` a local checkpoint with ``weights_only`` handled and
    its checksum (if any) verified.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a torch checkpoint, is corrupted (its
            checksum does not match), or holds arbitrary Python objects
            while ``DENSESIAM_WEIGHTS_ONLY=strict``.
    """
    checkpoint = _load(filename, map_location)
    verify_checksum(checkpoint, filename)
    return checkpoint


class CheckpointFileError(ValueError):
    """A file that cannot give a model its weights; the message names the
    file and what is wrong with it."""


def looks_like_torch_file(filename: str) -> bool:
    """Whether ``filename`` is a ``torch.save`` zip archive or a pickle."""
    if zipfile.is_zipfile(filename):
        return True
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'  # a pickle (protocol >= 2)


def read_model_weights(filename: str, error=CheckpointFileError) -> dict:
    """The model tensors of a checkpoint file, for the tools that read
    weights a user hands them (backbone extraction, converters, probes).

    Accepts an mmengine checkpoint (``state_dict``), a checkpoint with a
    ``model`` entry (e.g. the SiameseIM authors' release), or a bare state
    dict (torchvision); a DDP ``module.`` prefix is removed and non-tensor
    entries are dropped. The checksum, when the file has one, is verified.

    Args:
        filename (str): the file.
        error (type): the ``ValueError`` subclass to raise.

    Raises:
        error: naming the file: it does not exist, is not a torch file, is
            unreadable, holds no dict, or holds no tensors.
    """
    if not osp.isfile(filename):
        raise error(f'checkpoint file {filename} does not exist.')
    if not looks_like_torch_file(filename):
        raise error(f'{filename} is not a torch checkpoint (neither a '
                    'torch.save zip archive nor a pickle).')
    try:
        checkpoint = load_checkpoint_file(filename, map_location='cpu')
    except Exception as err:  # torch raises many types for broken files
        raise error(
            f'{filename} is not a readable torch checkpoint: {err}') from err
    if not isinstance(checkpoint, dict):
        raise error(f'{filename} is not a model checkpoint: it holds a '
                    f'{type(checkpoint).__name__}, not a dict of weights.')
    weights = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            weights = checkpoint[key]
            break
    weights = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in weights.items() if torch.is_tensor(v))
    if not weights:
        raise error(f'{filename} has no model weights: no tensors in it '
                    f'(top-level keys: {sorted(map(str, checkpoint))[:8]}).')
    return weights


def _load(filename: str, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint file {filename} can not be found.')
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if 'weights_only' not in str(err) and 'Weights only' not in str(err):
            raise ValueError(
                f'{filename} is not a readable torch checkpoint: {err}') \
                from err
        if os.environ.get('DENSESIAM_WEIGHTS_ONLY', 'auto') == 'strict':
            raise ValueError(
                f'{filename} holds Python objects that weights_only loading '
                f'refuses ({str(err).splitlines()[0]}). Unset '
                'DENSESIAM_WEIGHTS_ONLY=strict to load it if you trust it.') \
                from err
        try:
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=False)
        except Exception as full_err:
            raise ValueError(f'{filename} is not a readable torch checkpoint: '
                             f'{full_err}') from full_err
        print_log(
            f'{filename}: not loadable with weights_only=True; loaded it '
            'with weights_only=False (trusted file assumed; set '
            'DENSESIAM_WEIGHTS_ONLY=strict to refuse).',
            logger='current',
            level=30)
        return checkpoint
    except Exception as err:  # torch raises many types for non-checkpoints
        raise ValueError(
            f'{filename} is not a readable torch checkpoint: {err}') from err


def load_from_local(filename: str, map_location=None):
    """:func:`load_checkpoint_file` under the name mmengine's loader log
    expects (``load_from_<backend>``: "Loads checkpoint by local backend")."""
    return load_checkpoint_file(filename, map_location)


def _reduce_history_buffer(buffer: HistoryBuffer):
    return HistoryBuffer, (buffer._log_history, buffer._count_history,
                           buffer.max_length)


def patch_checkpoint_loading() -> None:
    """Make mmengine checkpoints save and load with ``weights_only=True``.

    Idempotent; affects ``load_from``, ``--resume``, ``init_cfg`` Pretrained
    and ``mmengine.runner.load_checkpoint`` for local paths, and every
    checkpoint saved afterwards in this process.
    """
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_from_local, force=True)
