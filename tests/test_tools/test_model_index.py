# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Model zoo metadata: every config under ``configs/`` (``_base_`` aside) is
in a ``metafile.yml`` that ``model-index.yml`` imports, under its own file
name, and ``mim search densesiam_mm`` lists every one of them and every
config family."""
import glob
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ..conftest import REPO_ROOT

CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
#: a collection per family; the directory of its metafile
FAMILIES = {
    'DenseSiam': 'configs/densesiam',
    'SimSiam (baseline)': 'configs/simsiam',
    'DenseSiam-Seg': 'configs/unsup_seg',
    'PiCIE': 'configs/unsup_seg',
    'SiameseIM': 'configs/siameseim',
    'Dense probe': 'configs/benchmarks/dense_probe',
    'DenseSiam transfer': 'configs/benchmarks',
}


def _configs():
    return sorted(
        osp.relpath(p, REPO_ROOT) for p in glob.glob(
            osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
        if '_base_' not in osp.relpath(p, CONFIG_ROOT).split(osp.sep))


def _load(path):
    with open(osp.join(REPO_ROOT, path)) as f:
        return yaml.safe_load(f)


def _metafiles():
    return _load('model-index.yml')['Import']


def _models():
    models = []
    for metafile in _metafiles():
        for model in _load(metafile).get('Models') or []:
            models.append((metafile, model))
    return models


def test_every_metafile_is_imported():
    found = sorted(
        osp.relpath(p, REPO_ROOT) for p in glob.glob(
            osp.join(CONFIG_ROOT, '**', 'metafile.yml'), recursive=True))
    assert sorted(_metafiles()) == found


def test_every_config_has_an_entry():
    configs = _configs()
    assert len(configs) >= 39, configs
    listed = [model['Config'] for _, model in _models()]
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    missing = sorted(set(configs) - set(listed))
    assert not missing, f'configs without a metafile entry: {missing}'
    stale = sorted(set(listed) - set(configs))
    assert not stale, f'metafile entries without a config: {stale}'


def test_entries_are_consistent():
    collections = {}
    for metafile in _metafiles():
        for coll in _load(metafile).get('Collections') or []:
            collections[coll['Name']] = osp.dirname(metafile)
    for name, folder in FAMILIES.items():
        assert collections.get(name) == folder, (name, collections)
    for metafile, model in _models():
        config = model['Config']
        # mim's config id is the entry's Name: the config's file name
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        assert model['In Collection'] in collections, model
        # a metafile lists the configs of its own folder tree
        assert config.startswith(osp.dirname(metafile) + '/'), (metafile,
                                                                config)
        for result in model.get('Results') or []:
            for key, value in result['Metrics'].items():
                assert isinstance(value, (int, float)), (config, key)


def test_paper_numbers_are_marked():
    """The paper's figures quoted in the metafiles say so in the metric
    name; the CPU runs' figures say their budget."""
    paper = {
        'configs/densesiam/densesiam_resnet50_16xb32-coslr-200e_in1k.py':
        {40.8, 77.0, 82.9},
        'configs/siameseim/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py':
        {84.1},
    }
    for _, model in _models():
        for result in model.get('Results') or []:
            for key, value in result['Metrics'].items():
                if value in paper.get(model['Config'], ()):
                    assert '(paper' in key, (model['Name'], key)
    seg = {m['Name']: m for _, m in _models()}
    metrics = seg['densesiam-seg_resnet18-fpn_1xb8-3e_camvid']['Results'][0][
        'Metrics']
    assert metrics['mIoU (random init, 92 it, 3 seeds)'] == 15.07


def test_mim_search_lists_every_config():
    mim = shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')
    if not osp.exists(mim):
        pytest.skip('openmim is not installed (requirements/tests.txt)')
    if not osp.exists(
            osp.join(REPO_ROOT, 'densesiam_mm', '.mim', 'model-index.yml')):
        pytest.skip('densesiam_mm/.mim/model-index.yml is missing: install '
                    'the package (pip install -e .)')
    proc = subprocess.run([mim, 'search', 'densesiam_mm'],
                          cwd='/',
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    ids = set(re.findall(r'^config id: (\S+)$', proc.stdout, re.M))
    stems = {osp.splitext(osp.basename(c))[0] for c in _configs()}
    assert ids == stems, (sorted(stems - ids), sorted(ids - stems))
    models = set(re.findall(r'^model\s+(.+?)\s*$', proc.stdout, re.M))
    for family in FAMILIES:
        assert family.lower() in models, (family, models)
