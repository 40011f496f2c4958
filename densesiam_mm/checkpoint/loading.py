# Copyright (c) densesiam_mm contributors. All rights reserved.
"""This project's checked reading of checkpoint files.

:func:`load_checkpoint_file` is what the tools, the pre-flight checks, the
probes, the converters and ``CheckedPretrained`` read files with:

1. a file whose pickle names only tensors, plain containers and the
   types of mmengine's own checkpoints (the allow-list of
   :mod:`~densesiam_mm.checkpoint.safe_globals`) is loaded with
   ``weights_only=True``;
2. a file that names other Python objects (e.g. a class of some project,
   ``builtins.getattr``) is refused before anything of it is unpickled:
   unpickling it could run code from the file. The error names the file,
   the objects and the opt-in: ``DENSESIAM_TRUST_CHECKPOINT=1`` loads such
   a file with ``weights_only=False`` (with a warning naming it);
   ``DENSESIAM_WEIGHTS_ONLY=strict`` refuses it even then;
3. a checkpoint that carries a checksum (``meta['sha256']``, see
   :mod:`~densesiam_mm.checkpoint.checksum`) is verified: changed bytes in
   a tensor are an error (corrupted); tensors removed, added or cast since
   the checksum was stamped (e.g. the optimizer dropped) are a warning
   (modified after it was written).

:func:`read_model_weights` adds the checks a file handed to a tool needs
(it exists, is a torch file, holds tensors) and returns its model weights
(:func:`~densesiam_mm.checkpoint.matching.unwrap_state_dict`).

:func:`mmengine_loading` is the same policy for mmengine's own loader
(``ToolRunner.load_checkpoint``, so ``--resume`` and ``load_from`` of the
tools), without replacing it.
"""
import contextlib
import logging
import os
import os.path as osp
import pickle
import zipfile
from typing import Dict, List, Optional

import torch
from mmengine.logging import print_log

from .checksum import verify_checksum
from .errors import CheckpointFileError
from .matching import unwrap_state_dict

#: set to ``1`` to load files that need ``weights_only=False``
TRUST_ENV = 'DENSESIAM_TRUST_CHECKPOINT'
#: set to ``strict`` to refuse them even with :data:`TRUST_ENV`
STRICT_ENV = 'DENSESIAM_WEIGHTS_ONLY'


def is_local_file(filename) -> bool:
    """Whether ``filename`` names an existing local file (not a URL or
    ``torchvision://`` name)."""
    return isinstance(filename, str) and '://' not in filename and \
        osp.isfile(osp.expanduser(filename))


def trusts_checkpoints() -> bool:
    """Whether the user opted in to ``weights_only=False`` loads."""
    return os.environ.get(TRUST_ENV, '') == '1' and \
        os.environ.get(STRICT_ENV, '') != 'strict'


def looks_like_torch_file(filename: str) -> bool:
    """Whether ``filename`` is a ``torch.save`` zip archive or a pickle."""
    if zipfile.is_zipfile(filename):
        return True
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'  # a pickle (protocol >= 2)


def unsafe_globals(filename: str) -> Optional[List[str]]:
    """The Python objects a ``torch.save`` file names that
    ``weights_only=True`` refuses, read without unpickling (torch's
    static scan); None when the file is not a zip archive (legacy format),
    which the restricted load itself checks."""
    try:
        return sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except Exception:  # not a zip archive, or a broken one
        return None


def _refusal(filename: str, names) -> CheckpointFileError:
    what = ', '.join(names[:5]) + (', ...' if len(names) > 5 else '') \
        if names else 'objects weights_only loading refuses'
    if os.environ.get(STRICT_ENV, '') == 'strict':
        opt_in = f'{STRICT_ENV}=strict forbids loading it.'
    else:
        opt_in = (f'If you trust the file, set {TRUST_ENV}=1 to load it '
                  'with weights_only=False.')
    return CheckpointFileError(
        f'{filename} holds Python objects other than tensors and the types '
        f'mmengine writes ({what}); unpickling them can run code from the '
        f'file, so it was not loaded. {opt_in}')


def _is_weights_only_error(err: Exception) -> bool:
    text = str(err)
    return isinstance(err,
                      pickle.UnpicklingError) and ('weights_only' in text
                                                   or 'Weights only' in text)


def _torch_load(filename: str, map_location, weights_only: bool):
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=weights_only)
    except Exception as err:  # torch raises many types for broken files
        if weights_only and _is_weights_only_error(err):
            raise
        raise CheckpointFileError(
            f'{filename} is not a readable torch checkpoint: {err}') from err


def _load_trusted(filename: str, map_location, names):
    print_log(
        f'{filename}: loaded with weights_only=False ({TRUST_ENV}=1); it '
        f'holds {", ".join(names[:5]) if names else "Python objects"}.',
        logger='current',
        level=logging.WARNING)
    return _torch_load(filename, map_location, weights_only=False)


def load_checkpoint_file(filename: str, map_location=None):
    """Load a local checkpoint: ``weights_only`` unless the user opted in,
    checksum (if any) verified (see the module doc).

    A file modified after its checksum was stamped (tensors removed, added
    or cast; the kept ones unchanged) loads with a warning naming the
    modifications.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointFileError: the file is not a torch checkpoint, is
            corrupted (a tensor's bytes differ from its checksum), or holds
            Python objects other than the allowed ones and
            ``DENSESIAM_TRUST_CHECKPOINT=1`` is not set.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint file {filename} can not be found.')
    names = unsafe_globals(filename)
    if names:  # known before anything is unpickled
        if not trusts_checkpoints():
            raise _refusal(filename, names)
        checkpoint = _load_trusted(filename, map_location, names)
    else:
        try:
            checkpoint = _torch_load(filename, map_location, True)
        except pickle.UnpicklingError as err:  # legacy format, dynamic
            if not trusts_checkpoints():
                raise _refusal(filename, []) from err
            checkpoint = _load_trusted(filename, map_location, [])
    verify_checksum(checkpoint, filename)
    return checkpoint


@contextlib.contextmanager
def mmengine_loading(filename: str):
    """A context for mmengine's own loading of ``filename`` (e.g.
    ``Runner.load_checkpoint``, which ``Runner.resume`` calls) with the
    policy of :func:`load_checkpoint_file`: every checkpoint mmengine
    writes loads with ``weights_only=True``; a local file that needs
    ``weights_only=False`` loads only with ``DENSESIAM_TRUST_CHECKPOINT=1``
    (through torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, set for the
    context only) and otherwise fails in ``torch.load``.

    The checksum is not verified here; :func:`load_checkpoint_file` (the
    tools' pre-flight check) does that.
    """
    names = unsafe_globals(osp.expanduser(filename)) \
        if is_local_file(filename) else None
    if not (names and trusts_checkpoints()):
        yield
        return
    print_log(
        f'{filename}: loaded with weights_only=False ({TRUST_ENV}=1); '
        f'it holds {", ".join(names[:5])}.',
        logger='current',
        level=logging.WARNING)
    key = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
    previous = os.environ.get(key)
    os.environ[key] = '1'
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous


def read_model_weights(filename: str) -> Dict[str, torch.Tensor]:
    """The model tensors of a checkpoint file, for the tools that read
    weights a user hands them (backbone extraction, converters, probes).

    Accepts an mmengine checkpoint (``state_dict``), a checkpoint with a
    ``model`` entry (e.g. the SiameseIM authors' release), or a bare state
    dict (torchvision); see
    :func:`~densesiam_mm.checkpoint.matching.unwrap_state_dict`. The
    checksum, when the file has one, is verified.

    Raises:
        CheckpointFileError: naming the file: it does not exist, is not a
            torch file, is unreadable, holds no dict, or holds no tensors.
    """
    if not osp.isfile(filename):
        raise CheckpointFileError(f'checkpoint file {filename} does not '
                                  'exist.')
    if not looks_like_torch_file(filename):
        raise CheckpointFileError(
            f'{filename} is not a torch checkpoint (neither a torch.save '
            'zip archive nor a pickle).')
    try:
        checkpoint = load_checkpoint_file(filename, map_location='cpu')
    except CheckpointFileError:
        raise
    except Exception as err:  # torch raises many types for broken files
        raise CheckpointFileError(
            f'{filename} is not a readable torch checkpoint: {err}') from err
    if not isinstance(checkpoint, dict):
        raise CheckpointFileError(
            f'{filename} is not a model checkpoint: it holds a '
            f'{type(checkpoint).__name__}, not a dict of weights.')
    weights = unwrap_state_dict(checkpoint)
    if not weights:
        raise CheckpointFileError(
            f'{filename} has no model weights: no tensors in it (top-level '
            f'keys: {sorted(map(str, checkpoint))[:8]}).')
    return weights
