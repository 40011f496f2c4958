# Copyright (c) densesiam_mm contributors. All rights reserved.
import importlib.util
import os
import os.path as osp
import sys

import pytest
from mmengine.registry import DefaultScope

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# absolute: a relative DENSESIAM_SHARED_DATA (``../shared/data``, as the docs
# write it) would otherwise be read from wherever a test links or runs it
SHARED_DATA = osp.abspath(
    os.environ.get('DENSESIAM_SHARED_DATA',
                   osp.join(REPO_ROOT, '..', 'shared', 'data')))
DEMO_DATA = osp.join(REPO_ROOT, 'data', 'demo')


def shared_path(*parts) -> str:
    """Path under the shared data folder, or skip the test with a reason."""
    path = osp.join(SHARED_DATA, *parts)
    if not osp.exists(path):
        pytest.skip(f'shared data not found: {path} (set '
                    'DENSESIAM_SHARED_DATA to the folder of '
                    '../shared/data/README.md)')
    return path


def config_path(*parts) -> str:
    return osp.join(REPO_ROOT, 'configs', *parts)


def load_script(path, name=None, register=False):
    """Import a repository script (``tools/...``) by its path, relative to
    REPO_ROOT or absolute, as module ``name`` (default: the file's stem).

    Each call runs the script afresh, unless ``register``: then the module
    goes into ``sys.modules`` before it runs (so that its functions can be
    pickled, e.g. for worker processes) and a module already registered
    under ``name`` is returned as it is.
    """
    path = osp.join(REPO_ROOT, path)  # an absolute path stays as it is
    if not osp.isfile(path):
        raise FileNotFoundError(f'no script at {path}')
    if name is None:
        name = osp.splitext(osp.basename(path))[0]
    if register and name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if register:
            sys.modules.pop(name, None)
        raise
    return module


@pytest.fixture(autouse=True)
def restore_default_scope():
    """Tests that set mmengine's default scope must not leak it into others
    (registry lookups would then go to the wrong package)."""
    saved = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.fixture(autouse=True)
def drop_visualizers():
    """A Runner reuses a visualizer of the same name made by an earlier test
    (mmengine's ManagerMixin keeps one instance per name), with that test's
    deleted temporary save_dir: drop them after every test."""
    yield
    from mmengine.visualization import Visualizer
    for cls in (Visualizer, *_subclasses(Visualizer)):
        cls._instance_dict.clear()
