# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Every config in ``configs/`` loads and builds: its model and its training
pipeline, in the config's own default scope (mmpretrain, mmseg or mmdet).

Building a model constructs its modules only: ``init_weights`` is not called,
so no checkpoint or download is read and the configs that point at weights
absent here (pre-training checkpoints, ``torchvision://``, mmseg/mmdet
``pretrained``) build as they are, ``init_cfg`` included. No config is
skipped: a config that cannot be loaded or built fails its case.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import MODELS, init_default_scope

import densesiam_mm  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT)
    for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(path, CONFIG_ROOT).split(osp.sep))


def _pipelines(dataset_cfg):
    """Every ``pipeline`` list in a (possibly wrapped) dataset config."""
    if isinstance(dataset_cfg, dict):
        if 'pipeline' in dataset_cfg:
            yield dataset_cfg['pipeline']
        for key in ('dataset', 'datasets'):
            yield from _pipelines(dataset_cfg.get(key))
    elif isinstance(dataset_cfg, (list, tuple)):
        for item in dataset_cfg:
            yield from _pipelines(item)


def test_every_config_is_collected():
    # one leaf per family at least; a glob that finds nothing would pass
    # the parametrised test vacuously
    families = {path.split(osp.sep)[0] for path in CONFIGS}
    assert {'densesiam', 'simsiam', 'unsup_seg', 'siameseim',
            'benchmarks'} <= families, families
    assert len(CONFIGS) >= 35, CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_model_and_train_pipeline(config):
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    scope = cfg.get('default_scope')
    assert scope in ('mmpretrain', 'mmseg', 'mmdet'), scope
    init_default_scope(scope)

    init = (cfg.model.get('backbone') or {}).get('init_cfg') or {}
    if isinstance(init, dict) and init.get('type') == 'Pretrained' \
            and not init.get('checkpoint'):
        # the dense probe config asks for the probed weights (its tool sets
        # them); the model refuses to build without; building reads no file
        init['checkpoint'] = 'weights-given-by-the-user.pth'
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0

    pipelines = list(_pipelines(cfg.train_dataloader.dataset))
    assert pipelines, f'{config}: no training pipeline found'
    for pipeline in pipelines:
        transforms = Compose(pipeline).transforms
        assert len(transforms) == len(pipeline)
