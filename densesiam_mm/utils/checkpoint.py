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
   with files you trust), ``strict`` refuses with a clear error.
"""
import copyreg
import importlib
import os
import os.path as osp
import pickle
import warnings

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


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load`` a local checkpoint with ``weights_only`` handled.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a torch checkpoint, or holds arbitrary
            Python objects while ``DENSESIAM_WEIGHTS_ONLY=strict``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename} can not be found.')
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
            prefixes='', loader=load_checkpoint_file, force=True)
