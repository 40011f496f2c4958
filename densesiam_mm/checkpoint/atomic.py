# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Atomic file writes: a file either has its complete new content or keeps
its previous one, whatever happens during the write (SIGKILL, full disk).

The content goes to ``<name>.partial`` in the same directory (same file
system, so the rename is atomic), is flushed and ``fsync``-ed, and only then
renamed to ``<name>``; the directory is ``fsync``-ed so that the rename
survives a power cut. A failed write removes the partial file and raises an
``OSError`` that names the target. A partial file never carries the target's
name: after a SIGKILL, only ``<name>.partial`` can be left (see
:func:`remove_partial_files`).
"""
import contextlib
import errno
import glob
import os
import os.path as osp
from typing import Callable, List, Sequence

PARTIAL_SUFFIX = '.partial'


def partial_path(filename: str) -> str:
    """Where the content of ``filename`` is written before the rename."""
    return filename + PARTIAL_SUFFIX


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:
        return  # e.g. a platform without directory file descriptors
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _write_error(filename: str, err: OSError) -> OSError:
    reason = err.strerror or str(err)
    if err.errno == errno.ENOSPC:
        reason = 'no space left on device'
    return OSError(
        err.errno, f'cannot write {filename}: {reason}; the partial file was '
        'removed and any previous version of the file is unchanged')


def commit_partial(partial: str, filename: str) -> None:
    """``fsync`` a completely written ``partial`` and rename it to
    ``filename`` (atomically replacing it)."""
    with open(partial, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(partial, filename)
    _fsync_dir(osp.dirname(osp.abspath(filename)))


def write_atomically(filename: str, write: Callable[[str], None]) -> None:
    """Let ``write(path)`` write the content to a partial path, then commit.

    ``write`` may open the path itself (e.g. mmengine's
    ``Runner.save_checkpoint``). On any exception the partial file is
    removed; an ``OSError`` (disk full, permission) is re-raised naming
    ``filename``.

    Raises:
        IsADirectoryError: ``filename`` is a directory.
        OSError: the write failed.
    """
    if osp.isdir(filename):
        raise IsADirectoryError(errno.EISDIR,
                                f'cannot write {filename}: it is a directory')
    folder = osp.dirname(osp.abspath(filename))
    if not osp.isdir(folder):
        if osp.exists(folder):
            raise NotADirectoryError(
                errno.ENOTDIR, f'cannot write {filename}: {folder} is not a '
                'directory')
        os.makedirs(folder, exist_ok=True)
    partial = partial_path(filename)
    try:
        write(partial)
        commit_partial(partial, filename)
    except OSError as err:
        _remove_quietly(partial)
        raise _write_error(filename, err) from err
    except BaseException:
        _remove_quietly(partial)
        raise


def _same_file(a: str, b: str) -> bool:
    try:
        return osp.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return osp.realpath(a) == osp.realpath(b)


def refuse_to_overwrite_inputs(output: str,
                               inputs: Sequence[str],
                               option: str = '--out') -> None:
    """Refuse an output path that is one of the tool's input files.

    Compares by file identity, so the same path, a symlink and a hard link
    to an input are all refused. Call it before any work starts.

    Args:
        output (str): the file the tool would write.
        inputs (sequence[str]): the files the tool reads.
        option (str): the option that named ``output``, for the message.

    Raises:
        ValueError: naming the option, the output and the input.
    """
    for source in inputs:
        if source and output and osp.exists(source) and \
                _same_file(output, source):
            kind = 'folder' if osp.isdir(source) else 'file'
            raise ValueError(
                f'{option} {output} is the input {kind} {source} (same '
                f'{kind}, a link to it, or a hard link): writing it would '
                'destroy the input. Choose another output path.')


def save_bytes_atomically(filename: str, data: bytes) -> None:
    """Write ``data`` to ``filename`` atomically."""

    def write(path):
        with open(path, 'wb') as f:
            f.write(data)

    write_atomically(filename, write)


def save_text_atomically(filename: str, text: str) -> None:
    """Write ``text`` to ``filename`` atomically (e.g. ``last_checkpoint``)."""
    save_bytes_atomically(filename, text.encode('utf-8'))


class _WriteErrorRecorder:
    """A file object that remembers the ``OSError`` of a failed write:
    ``torch.save`` turns it into a ``RuntimeError`` (``[enforce fail at
    inline_container.cc] unexpected pos``) that does not say why."""

    def __init__(self, file):
        self.file = file
        self.error = None

    def write(self, data):
        try:
            return self.file.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self):
        return self.file.flush()


def torch_save_atomically(obj, filename: str) -> None:
    """``torch.save(obj, filename)`` atomically; errors name ``filename``
    (a full disk is reported as such, not as torch's ``unexpected pos``)."""
    import torch

    def write(path):
        with open(path, 'wb') as f:
            recorder = _WriteErrorRecorder(f)
            try:
                torch.save(obj, recorder)
            except RuntimeError:
                if recorder.error is not None:
                    raise recorder.error from None
                raise

    write_atomically(filename, write)


def remove_partial_files(folder: str) -> List[str]:
    """Remove the ``*.partial`` files an interrupted write left in
    ``folder``; returns their paths."""
    removed = []
    for path in sorted(
            glob.glob(osp.join(glob.escape(folder), '*' + PARTIAL_SUFFIX))):
        if osp.isfile(path):
            _remove_quietly(path)
            removed.append(path)
    return removed
