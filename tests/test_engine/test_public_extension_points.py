# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The engine extends mmengine only through public points: no private
method of mmengine is overridden, and importing densesiam_mm replaces no
method of mmengine."""
import subprocess
import sys

import pytest
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from densesiam_mm.engine.fileio import AtomicLocalBackend
from densesiam_mm.engine.hooks import AtomicCheckpointHook, NaNGuardHook
from densesiam_mm.engine.optimizers import (NaNGuardAmpOptimWrapper,
                                            NaNGuardMixin,
                                            NaNGuardOptimWrapper)
from ..conftest import REPO_ROOT


def _private_method(name, value):
    """A ``_x`` method (not a dunder, not ABCMeta's ``_abc_impl`` data)."""
    method = callable(value) or isinstance(
        value, (staticmethod, classmethod, property))
    return method and name.startswith('_') and not (name.startswith('__')
                                                    and name.endswith('__'))


@pytest.mark.parametrize('ours,theirs', [
    (AtomicCheckpointHook, CheckpointHook),
    (NaNGuardHook, Hook),
    (NaNGuardMixin, AmpOptimWrapper),
    (NaNGuardOptimWrapper, OptimWrapper),
    (NaNGuardAmpOptimWrapper, AmpOptimWrapper),
    (AtomicLocalBackend, LocalBackend),
])
def test_no_private_method_of_mmengine_is_overridden(ours, theirs):
    overridden = [
        name for name, value in vars(ours).items()
        if _private_method(name, value) and any(
            name in vars(base) for base in theirs.mro())
    ]
    assert not overridden, f'{ours.__name__} overrides {overridden}'


def test_the_check_finds_an_override():

    class Patched(CheckpointHook):

        def _save_checkpoint(self, runner):
            pass

    assert _private_method('_save_checkpoint',
                           vars(Patched)['_save_checkpoint'])


def test_guarded_wrappers_override_only_update_params():
    for cls in (NaNGuardOptimWrapper, NaNGuardAmpOptimWrapper):
        ours = [k for k in cls.mro() if k.__module__.startswith('densesiam')]
        methods = {
            name
            for klass in ours
            for name, value in vars(klass).items() if callable(value)
        }
        assert methods == {'update_params'}, methods


CHECK = '''
from mmengine.fileio.backends import registry_utils
from mmengine.hooks import CheckpointHook
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner, checkpoint
from mmengine.fileio import LocalBackend

def snapshot():
    return dict(
        update_params=OptimWrapper.update_params,
        amp_update_params=AmpOptimWrapper.update_params,
        save_checkpoint=Runner.save_checkpoint,
        save_checkpoint_function=checkpoint.save_checkpoint,
        hook={k: v for k, v in vars(CheckpointHook).items()},
        local_put=LocalBackend.put,
        backends=dict(registry_utils.backends),
        prefixes=dict(registry_utils.prefix_to_backends))

before = snapshot()
import densesiam_mm  # noqa
after = snapshot()
old, new = before.pop('backends'), after.pop('backends')
assert set(new) - set(old) == {'atomic_local'}, set(new) - set(old)
assert {name: new[name] for name in old} == old
for key in before:
    assert before[key] == after[key], key
print('unchanged')
'''


def test_import_replaces_no_mmengine_method():
    proc = subprocess.run([sys.executable, '-c', CHECK],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('unchanged')
