# Copyright (c) densesiam_mm contributors. All rights reserved.
"""mmengine's checkpoints under torch's ``weights_only`` default.

torch >= 2.6 loads with ``weights_only=True`` unless told otherwise, and
mmengine 0.10 calls ``torch.load`` without the argument. A checkpoint that
mmengine's ``Runner`` writes holds, besides tensors and plain containers:

- numpy arrays and scalars (e.g. in ``meta`` and in the message hub);
- the message hub's :class:`~mmengine.logging.HistoryBuffer`, whose
  ``__getstate__`` adds the class's statistics functions
  (``HistoryBuffer.min``, ``max``, ``mean``, ``current``), which pickle
  (protocol 2) as ``builtins.getattr(HistoryBuffer, 'min')``.

torch's restricted unpickler refuses all of them by default, so
``--resume`` of the Runner's own checkpoints fails. This module extends
torch's public allow-list, and never touches mmengine's loader or how
anything is pickled:

- :func:`allow_mmengine_checkpoints` (called once by ``import
  densesiam_mm``) adds ``HistoryBuffer`` and numpy's array, dtype and
  scalar types with ``torch.serialization.add_safe_globals``, and resolves
  ``builtins.getattr`` to :func:`history_buffer_getattr`, which only
  returns ``HistoryBuffer``'s statistics methods and refuses anything
  else. This is strictly additive: a file that loaded before loads to the
  same objects (no such file names ``builtins.getattr``, which torch
  refused), every other global and every other ``getattr`` is still
  refused, and no code runs (the classes are built with ``__new__`` and
  their state set; numpy's ``_reconstruct`` and ``scalar`` rebuild arrays
  from bytes). It is process-wide so that mmdet's and mmseg's own
  ``tools/train.py`` (configs with ``custom_imports=['densesiam_mm']``)
  can read a DenseSiam training checkpoint in a ``Pretrained`` init_cfg.
  One visible difference: ``torch.serialization.
  get_unsafe_globals_in_checkpoint`` no longer lists ``builtins.getattr``.
"""
import importlib
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: the two module paths numpy's array constructors are pickled under
#: (numpy < 2 writes ``numpy.core``, numpy >= 2 ``numpy._core``)
_MULTIARRAY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')

#: the statistics methods ``HistoryBuffer`` registers by default
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def _multiarray():
    for name in reversed(_MULTIARRAY_MODULES):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError('numpy has neither numpy._core nor numpy.core')


def mmengine_safe_globals() -> list:
    """The globals of an mmengine checkpoint beyond torch's defaults, but
    ``builtins.getattr``: ``HistoryBuffer``, numpy arrays, dtypes and
    scalars.

    numpy's array constructors are listed under both module paths, so a
    checkpoint written with numpy 1 loads with numpy 2 and the other way.
    """
    multiarray = _multiarray()
    allowed = [HistoryBuffer, np.ndarray, np.dtype]
    for function in ('_reconstruct', 'scalar'):
        fn = getattr(multiarray, function)
        allowed += [(fn, f'{module}.{function}')
                    for module in _MULTIARRAY_MODULES]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


def history_buffer_getattr(obj, name: str):
    """``builtins.getattr`` as a ``weights_only`` load may use it: only a
    statistics method of ``HistoryBuffer``
    (:data:`HISTORY_BUFFER_STATISTICS`).

    Raises:
        pickle.UnpicklingError: any other object or attribute.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r}) is not allowed: only the statistics methods of '
        'mmengine\'s HistoryBuffer are')


#: ``builtins.getattr`` as the allow-list resolves it
_HISTORY_BUFFER_GETATTR = (history_buffer_getattr, 'builtins.getattr')


def allow_mmengine_checkpoints() -> None:
    """Add :func:`mmengine_safe_globals` and the restricted
    ``builtins.getattr`` (:func:`history_buffer_getattr`) to torch's
    ``weights_only`` allow-list, process-wide (idempotent; strictly
    additive)."""
    torch.serialization.add_safe_globals(mmengine_safe_globals() +
                                         [_HISTORY_BUFFER_GETATTR])
