# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Install densesiam_mm with its ``.mim`` extension.

``densesiam_mm/.mim`` holds ``configs/``, ``tools/``, ``model-index.yml`` and
the demo photos (``data/demo``)
so that ``mim train densesiam_mm CONFIG`` and ``mim test densesiam_mm ...``
find them, as for mmpretrain: symlinked in editable/develop installs, copied
when building a wheel or sdist.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = [
    'configs', 'tools', 'model-index.yml', 'requirements', 'data/demo'
]


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version() -> str:
    scope = {}
    with open(osp.join(HERE, 'densesiam_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    with open(osp.join(HERE, 'requirements', fname)) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


def add_mim_extension() -> None:
    """Link (editable) or copy (wheel, sdist) MIM_FILES to the package."""
    if {'develop', 'editable_wheel', 'egg_info'} & set(sys.argv):
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'densesiam_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        tar = osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        os.makedirs(osp.dirname(tar), exist_ok=True)
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
        elif osp.isfile(src):
            shutil.copyfile(src, tar)
        else:
            shutil.copytree(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='densesiam_mm',
        version=version(),
        description='Dense Siamese Network (DenseSiam, ECCV 2022) for '
        'OpenMMLab: pre-training, unsupervised segmentation and transfer',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='self-supervised learning, dense representation, openmmlab',
        # Only densesiam_mm: `tests`/`benchmarks` as top-level packages in
        # site-packages made mim resolve the wrong package for config names.
        packages=find_packages(include=('densesiam_mm', 'densesiam_mm.*')),
        include_package_data=True,
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('mminstall.txt'),
        extras_require=dict(
            all=parse_requirements('runtime.txt'),
            tests=parse_requirements('tests.txt')),
        zip_safe=False)
