# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A local file backend whose writes are atomic."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ...checkpoint.atomic import write_atomically

ATOMIC_LOCAL_BACKEND = 'atomic_local'


@register_backend(ATOMIC_LOCAL_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` and ``put_text`` are atomic.

    The content goes to ``<name>.partial`` in the same folder, is
    ``fsync``-ed and renamed to ``<name>``
    (:func:`densesiam_mm.checkpoint.atomic.write_atomically`): a file of
    that name is always complete, a failed write (e.g. disk full) removes the
    partial file and raises an ``OSError`` naming the file. Reading and
    every other operation are ``LocalBackend``'s.

    Registered in mmengine's file backends as ``'atomic_local'`` (a new
    name: the ``'local'`` backend is unchanged). Select it with
    ``backend_args=dict(backend='atomic_local')``, e.g. in
    ``mmengine.runner.save_checkpoint`` or a ``CheckpointHook``;
    :class:`~densesiam_mm.engine.hooks.AtomicCheckpointHook` selects it for
    local folders.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (``'wb'`` mode)."""
        put = super().put
        write_atomically(str(filepath), lambda partial: put(obj, partial))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (``'w'`` mode)."""
        put_text = super().put_text
        write_atomically(
            str(filepath), lambda partial: put_text(obj, partial, encoding))
