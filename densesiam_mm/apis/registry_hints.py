# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Suggest the registered names closest to an unknown ``type`` in a config.

mmengine's ``build_from_cfg`` raises ``KeyError: 'NonLinearNek is not in the
mmpretrain::model registry. Please check ...'``. Inside
:func:`registry_hints` that error is re-raised as
:class:`UnknownRegistryNameError` (a ``KeyError``) whose message ends with
the closest registered names of that registry, its parents and its sibling
scopes (``mmseg.Foo`` style for other scopes), found with ``difflib``.
"""
import difflib
import re
from contextlib import contextmanager
from typing import List, Optional

import mmengine.registry as mmengine_registry
from mmengine.registry import Registry

_PATTERN = re.compile(
    r'(?P<name>[\w.:]+) is not in the (?:(?P<scope>[\w-]+)::)?'
    r'(?P<registry>[\w ]+?) registry')


class UnknownRegistryNameError(KeyError):
    """A ``KeyError`` for an unknown registry name, printed without quotes."""

    def __str__(self) -> str:
        return str(self.args[0])


def _root_registry(name: str) -> Optional[Registry]:
    for value in vars(mmengine_registry).values():
        if isinstance(value, Registry) and value.name == name \
                and value.parent is None:
            return value
    return None


def _walk(registry: Registry):
    yield registry
    for child in registry.children.values():
        yield from _walk(child)


def close_registry_names(name: str,
                         registry_name: str,
                         scope: Optional[str] = None,
                         n: int = 5) -> List[str]:
    """Registered names of ``registry_name`` closest to ``name``.

    Names of ``scope`` and of mmengine's root are returned bare, names of
    other scopes as ``'scope.Name'`` (the form ``build`` accepts).
    """
    root = _root_registry(registry_name)
    if root is None:
        return []
    bare_name = name.split('.')[-1]
    candidates = {}
    for registry in _walk(root):
        own = registry.scope in (scope, root.scope)
        for key in registry.module_dict:
            shown = key if own else f'{registry.scope}.{key}'
            candidates.setdefault(key.lower(), []).append(shown)
    close = difflib.get_close_matches(
        bare_name.lower(), list(candidates), n=n, cutoff=0.6)
    names: List[str] = []
    for key in close:
        for shown in sorted(candidates[key], key=lambda s: ('.' in s, s)):
            if shown not in names:
                names.append(shown)
    return names[:n]


def hint_for(error: BaseException) -> Optional[str]:
    """The "did you mean" line for an mmengine unknown-name error, if any."""
    match = _PATTERN.search(str(error))
    if match is None:
        return None
    names = close_registry_names(
        match.group('name'),
        match.group('registry').strip(), match.group('scope'))
    if not names:
        return (f'No registered {match.group("registry")} name is close to '
                f'{match.group("name")!r}; is the module imported '
                '(custom_imports)?')
    return f'Did you mean: {", ".join(names)}?'


@contextmanager
def registry_hints():
    """Add the closest registered names to unknown-``type`` errors."""
    try:
        yield
    except KeyError as err:
        hint = hint_for(err)
        if hint is None or isinstance(err, UnknownRegistryNameError):
            raise
        message = err.args[0] if err.args else str(err)
        raise UnknownRegistryNameError(f'{message}\n{hint}') from err
