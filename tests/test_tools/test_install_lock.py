# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The install lock is complete and agrees with what the set-up asks for.

The cold install itself runs in CI every time (``.ci/run`` builds mmcv from
its sdist into an empty wheel cache); these checks catch a lock that drifted
from ``requirements/*.txt`` before anyone waits ten minutes for a build.
"""
import os.path as osp
import re

from packaging.requirements import Requirement

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _pins(name):
    pins = {}
    for line in open(osp.join(REPO, 'requirements', name)):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        assert re.fullmatch(r'[A-Za-z0-9._-]+==[^\s=]+', line), \
            f'requirements/{name}: {line!r} is not an exact pin'
        pkg, version = line.split('==')
        pins[re.sub(r'[-_.]+', '-', pkg).lower()] = version
    return pins


def test_lock_pins_every_requirement_and_satisfies_it():
    lock = _pins('constraints.txt')
    for name in ('runtime.txt', 'tests.txt', 'lint.txt', 'mminstall.txt',
                 'optional.txt'):
        for line in open(osp.join(REPO, 'requirements', name)):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            req = Requirement(line)
            key = re.sub(r'[-_.]+', '-', req.name).lower()
            assert key in lock, f'{req.name} ({name}) is not in the lock'
            assert req.specifier.contains(lock[key], prereleases=True), \
                f'lock has {req.name}=={lock[key]}, {name} wants {line}'


def test_build_pins_agree_with_lock():
    lock, build = _pins('constraints.txt'), _pins('build.txt')
    assert set(build) >= {'pip', 'setuptools', 'wheel', 'ninja', 'numpy'}
    for pkg, version in build.items():
        assert lock.get(pkg) == version, \
            f'build.txt pins {pkg}=={version}, the lock {lock.get(pkg)}'
    # mmcv 2.1.0's setup.py imports pkg_resources: setuptools 82 dropped it.
    major = int(build['setuptools'].split('.')[0])
    assert 77 <= major < 82
    assert {'torch', 'torchvision', 'mmcv'} <= set(lock)


def test_mmcv_setup_py_never_runs_isolated():
    script = open(osp.join(REPO, 'tools', 'setup_env.sh')).read()
    calls = [
        line for line in script.splitlines()
        if re.search(r'\b(download|wheel)\b.*(--no-binary|-w )', line)
    ]
    assert calls, 'no mmcv download/wheel step found in setup_env.sh'
    for line in calls:
        assert '--no-build-isolation' in line, line
    assert 'export PIP_CONSTRAINT=' in script
