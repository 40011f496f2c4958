# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Prepare a training checkpoint for release (OpenMMLab's convention).

::

    python tools/model_converters/publish_model.py \\
        work_dirs/densesiam/iter_60.pth densesiam_r18_demo.pth
    # -> densesiam_r18_demo-1a2b3c4d.pth

- keeps ``meta`` and ``state_dict`` (``--save-keys``) and drops what only
  resuming needs: ``optimizer``, ``message_hub``, ``param_schedulers``
  and any other entry;
- restamps the checksum (``meta['sha256']`` and the per-tensor digests,
  :func:`~densesiam_mm.checkpoint.add_checksum`), so the published file
  verifies fully when it is loaded;
- names the file ``<name>-<sha256[:8]>.pth``, the first 8 hex digits of
  the sha256 of the written file (as OpenMMLab's model zoo does);
- reads the input with the project's checked loader (refusing files that
  would run code, corrupted ones), refuses to write over the input (same
  path, symlink or hard link) and writes atomically: a failed write leaves
  no file.
"""
import argparse
import hashlib
import io
import os.path as osp
import sys

import torch

from densesiam_mm.checkpoint import (CheckpointFileError, add_checksum,
                                     load_checkpoint_file,
                                     refuse_to_overwrite_inputs,
                                     save_bytes_atomically, unwrap_state_dict)

DEFAULT_KEYS = ('meta', 'state_dict')


def published_name(out_file: str, data: bytes) -> str:
    """``<out_file without .pth>-<sha256(data)[:8]>.pth``."""
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    return f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'


def publish(in_file: str, out_file: str, save_keys=DEFAULT_KEYS) -> dict:
    """Write the published form of ``in_file`` next to ``out_file`` (see
    the module doc).

    Returns a summary dict: ``path`` (the file written), ``kept`` and
    ``dropped`` (top-level keys), ``size`` and ``in_size`` (bytes).

    Raises:
        CheckpointFileError: the input is unreadable, refused or holds no
            weights.
        ValueError: the output would be the input.
        OSError: the output cannot be written (naming it).
    """
    refuse_to_overwrite_inputs(out_file, [in_file], option='out_file')
    if osp.isdir(out_file):
        raise CheckpointFileError(
            f'the output {out_file} is a directory; give a file name, e.g. '
            f'{osp.join(out_file, "model.pth")}.')
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise CheckpointFileError(
            f'{in_file} is not a model checkpoint: it holds a '
            f'{type(checkpoint).__name__}, not a dict of weights.')
    if 'state_dict' not in checkpoint:  # e.g. a bare state dict
        weights = unwrap_state_dict(checkpoint)
        if not weights:
            raise CheckpointFileError(
                f'{in_file} has no model weights: no tensors in it.')
        meta = checkpoint.get('meta')
        checkpoint = dict(state_dict=weights)
        if isinstance(meta, dict):
            checkpoint['meta'] = meta
    published = {k: checkpoint[k] for k in save_keys if k in checkpoint}
    dropped = sorted(str(k) for k in checkpoint if k not in published)
    if 'state_dict' not in published:
        raise CheckpointFileError(
            f'--save-keys {" ".join(save_keys)} keeps no state_dict of '
            f'{in_file}; add state_dict.')
    published.setdefault('meta', {})
    add_checksum(published)
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    final = published_name(out_file, data)
    refuse_to_overwrite_inputs(final, [in_file], option='out_file')
    save_bytes_atomically(final, data)
    return dict(
        path=final,
        kept=list(published),
        dropped=dropped,
        size=len(data),
        in_size=osp.getsize(in_file))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Process a checkpoint to be published: drop the '
        'training state, restamp the checksum, put the sha256 in the name.')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument(
        'out_file',
        help='output checkpoint filename; written as '
        '<out_file without .pth>-<sha256[:8]>.pth')
    parser.add_argument(
        '--save-keys',
        nargs='+',
        default=list(DEFAULT_KEYS),
        help='top-level keys to keep (default: meta state_dict)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = publish(args.in_file, args.out_file, args.save_keys)
    except (CheckpointFileError, ValueError, OSError) as err:
        sys.exit(f'error: {err}')
    dropped = ', '.join(summary['dropped']) or 'nothing'
    print(f'{summary["path"]}: {summary["size"] / 1e6:.1f} MB (input '
          f'{summary["in_size"] / 1e6:.1f} MB); kept '
          f'{", ".join(summary["kept"])}; dropped {dropped}; checksum '
          'restamped.')


if __name__ == '__main__':
    main()
