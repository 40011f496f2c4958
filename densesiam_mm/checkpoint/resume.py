# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Which checkpoint ``--resume`` (no path) continues from.

mmengine reads ``<work_dir>/last_checkpoint`` and, when it is missing,
silently trains from scratch -- and then overwrites the ``iter_*.pth`` of
the earlier run (e.g. checkpoints copied into a new folder, or a
``--resume`` pointed at another work dir). :func:`resolve_resume` decides
before the Runner is built:

1. ``last_checkpoint`` names an existing file: that file;
2. it names a file that is gone but a file of that name is in the work dir
   (the folder was moved or copied): the local file, with a message;
3. no usable ``last_checkpoint`` but checkpoints in the work dir: the newest
   one that loads and passes its checksum, with a message (files that do
   not are named and skipped);
4. checkpoints exist but none is usable: ``FileNotFoundError`` naming the
   folder and each file's problem;
5. no checkpoint at all: training starts from scratch, with a warning that
   says so.
"""
import logging
import os
import os.path as osp
import re
from typing import Callable, List, Optional

from mmengine.logging import print_log

from .loading import load_checkpoint_file

DEFAULT_TEMPLATES = ('iter_{}.pth', 'epoch_{}.pth')


def checkpoint_step(name: str, templates=DEFAULT_TEMPLATES) -> Optional[int]:
    """The step of a checkpoint file name (``iter_40.pth`` -> 40), or None
    when no template matches (``iter_40.pth.partial`` never does)."""
    for template in templates:
        pattern = '^' + re.escape(template).replace(r'\{\}', r'(\d+)') + '$'
        match = re.match(pattern, osp.basename(name))
        if match:
            return int(match.group(1))
    return None


def list_checkpoints(folder: str, templates=DEFAULT_TEMPLATES) -> List[str]:
    """Checkpoints in ``folder`` named by ``templates``, newest first.

    Newest is the highest step number (ties: most recently modified).
    Partial files (``*.pth.partial``) never match.
    """
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        step = checkpoint_step(name, templates)
        if step is not None and osp.isfile(path):
            found.append((step, osp.getmtime(path), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def checkpoint_templates(cfg) -> tuple:
    """Checkpoint file-name templates of ``cfg``'s checkpoint hook."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    template = hook.get('filename_tmpl') if isinstance(hook, dict) else None
    return (template, ) if template else DEFAULT_TEMPLATES


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


def find_resume_checkpoint(
        work_dir: str,
        templates=DEFAULT_TEMPLATES,
        warn: Callable[[str], None] = _warn) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from (see module doc).

    Returns None when ``work_dir`` holds no checkpoint. ``warn`` receives
    the messages (the current logger by default).

    Raises:
        FileNotFoundError: checkpoints exist but none can be loaded.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip()
        if target and osp.isfile(target):
            return target
        local = osp.join(work_dir, osp.basename(target)) if target else ''
        if local and osp.isfile(local):
            warn(f'{pointer} names {target}, which does not exist (moved '
                 f'or copied work dir?); resuming from {local} instead.')
            return local
        warn(f'{pointer} names {target or "nothing"}, which does not exist; '
             f'looking for the newest valid checkpoint in {work_dir}.')
    candidates = list_checkpoints(work_dir, templates)
    if not candidates:
        return None
    problems = []
    for path in candidates:
        try:
            load_checkpoint_file(path, map_location='cpu')
        except (ValueError, OSError, RuntimeError, EOFError) as err:
            problems.append(f'{osp.basename(path)}: {err}')
            warn(f'--resume: skipping {path}: {err}')
            continue
        warn(f'--resume: {work_dir} has no usable last_checkpoint; resuming '
             f'from the newest valid checkpoint {path} (of '
             f'{len(candidates)} found).')
        return path
    raise FileNotFoundError(
        f'--resume: {work_dir} holds {len(candidates)} checkpoint(s) but none '
        'can be loaded: ' + '; '.join(problems))


def resolve_resume(cfg, warn: Callable[[str], None] = _warn):
    """Turn ``resume=True`` without ``load_from`` into an explicit file.

    Sets ``cfg.load_from`` to :func:`find_resume_checkpoint`'s answer, or
    ``cfg.resume = False`` with a warning when the work dir holds no
    checkpoint. Returns ``cfg``.
    """
    if not cfg.get('resume') or cfg.get('load_from'):
        return cfg
    work_dir = cfg.get('work_dir')
    path = find_resume_checkpoint(work_dir, checkpoint_templates(cfg),
                                  warn) if work_dir else None
    if path is None:
        warn(f'--resume: no checkpoint in {work_dir}; training starts from '
             'scratch.')
        cfg.resume = False
    else:
        cfg.load_from = path
    return cfg
