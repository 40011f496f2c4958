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

:func:`report_resume_differences` then says what ``--resume`` keeps: the
optimizer (its lr) and the lr schedule come from the checkpoint, whatever
the config says, so a config whose lr, batch size or schedule length
differs from the run that wrote the checkpoint gets a warning naming each
difference and the way to apply a new lr.
"""
import ast
import logging
import math
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


#: the settings :func:`resume_differences` compares, as (config path, what
#: ``--resume`` does with the config's value)
RESUME_SETTINGS = (
    ('optim_wrapper.optimizer.lr',
     'NOT applied: --resume restores the optimizer (lr now {lr}) and the lr '
     'schedule of the checkpoint'),
    ('train_dataloader.batch_size',
     'applied to the data loader, but the lr stays the checkpoint\'s (not '
     'rescaled)'),
    ('train_cfg.max_iters',
     'the run stops at the new value, but the lr schedule (param_scheduler) '
     'is the checkpoint\'s'),
    ('train_cfg.max_epochs',
     'the run stops at the new value, but the lr schedule (param_scheduler) '
     'is the checkpoint\'s'),
)

_UNKNOWN = object()
_CONSTANTS = {'True': True, 'False': False, 'None': None}


def _literal(node):
    """The value of a config expression made of literals and ``dict(...)``
    (what mmengine's ``Config.pretty_text`` writes), or ``_UNKNOWN``. The
    text comes from a checkpoint, so it is parsed, never executed."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _CONSTANTS.get(node.id, _UNKNOWN)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op,
                                                    (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        return _UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Dict):
        keys = [_literal(k) if k is not None else _UNKNOWN for k in node.keys]
        return {
            k: _literal(v)
            for k, v in zip(keys, node.values) if isinstance(k, (str, int))
        }
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
    return _UNKNOWN


def saved_config_values(cfg_text: str) -> dict:
    """The top-level settings of a config text (``meta['cfg']`` of an
    mmengine checkpoint) that are plain literals, parsed without executing
    anything; ``{}`` when the text does not parse."""
    try:
        tree = ast.parse(cfg_text)
    except (SyntaxError, ValueError, TypeError):
        return {}
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = _literal(node.value)
    return values


def _get(tree, path: str):
    for key in path.split('.'):
        if not hasattr(tree, 'get'):
            return _UNKNOWN
        tree = tree.get(key, _UNKNOWN)
        if tree is _UNKNOWN:
            return _UNKNOWN
    return tree


def _same(a, b) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return a == b


def _lrs(param_groups, key: str) -> str:
    values = sorted(
        {g[key]
         for g in param_groups if isinstance(g.get(key), (int, float))})
    if not values:
        return 'unknown'
    if len(values) == 1:
        return f'{values[0]:.4g}'
    return f'{values[0]:.4g}..{values[-1]:.4g} across the param groups'


def resume_differences(cfg, checkpoint: dict) -> List[str]:
    """The settings of :data:`RESUME_SETTINGS` in which ``cfg`` differs
    from the run that wrote ``checkpoint`` (its ``meta['cfg']``), each as
    a line saying what ``--resume`` does with it.

    Without a readable ``meta['cfg']``, the config's lr is compared with
    the ``initial_lr`` of the checkpoint's optimizer (unless
    ``auto_scale_lr`` is enabled, which changes the lr).
    """
    meta = checkpoint.get('meta') or {}
    groups = (checkpoint.get('optimizer') or {}).get('param_groups') or []
    if not isinstance(groups, list):
        groups = []
    groups = [g for g in groups if isinstance(g, dict)]
    current = _lrs(groups, 'lr')
    cfg_text = meta.get('cfg') if isinstance(meta, dict) else None
    saved = saved_config_values(cfg_text) if isinstance(cfg_text, str) else {}
    lines = []
    for path, effect in RESUME_SETTINGS:
        new, old = _get(cfg, path), _get(saved, path)
        if path.endswith('.lr') and old is _UNKNOWN and groups and \
                not (cfg.get('auto_scale_lr') or {}).get('enable'):
            initial = {g.get('initial_lr', g.get('lr')) for g in groups}
            if isinstance(new, (int, float)) and not any(
                    isinstance(v, (int, float)) and _same(new, v)
                    for v in initial):
                old = _lrs(groups,
                           'initial_lr' if 'initial_lr' in groups[0] else 'lr')
                lines.append(f'{path}: the config says {new}, the '
                             f"checkpoint's optimizer started at {old} -- " +
                             effect.format(lr=current))
            continue
        if new is _UNKNOWN or old is _UNKNOWN or _same(new, old):
            continue
        lines.append(f'{path}: the config says {new}, the checkpoint was '
                     f'trained with {old} -- ' + effect.format(lr=current))
    return lines


def report_resume_differences(cfg,
                              checkpoint: dict,
                              warn: Callable[[str], None] = _warn):
    """Before a resumed training starts, warn when the config's lr, batch
    size or schedule length (:data:`RESUME_SETTINGS`) differs from the
    run that wrote ``checkpoint`` (the loaded ``cfg.load_from``;
    :func:`resume_differences`), naming each difference and the way to
    apply a new lr. Does nothing unless ``cfg.resume`` is set. Returns the
    lines warned about."""
    filename = cfg.get('load_from')
    if not (cfg.get('resume') and isinstance(checkpoint, dict)):
        return []
    lines = resume_differences(cfg, checkpoint)
    if lines:
        warn(f'--resume from {filename}: the config differs from the run '
             'that wrote the checkpoint; the config dump in the work dir '
             'shows the new values, but: ' + '; '.join(lines) + '. To train '
             "with the config's lr and schedule, start from the checkpoint's "
             f'weights without --resume (`--cfg-options load_from={filename}`'
             ': weights only; the iteration count, optimizer state and '
             'schedule start again), or start the run again.')
    return lines
