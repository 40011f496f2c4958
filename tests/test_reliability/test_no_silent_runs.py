# Copyright (c) densesiam_mm contributors. All rights reserved.
"""No run that "succeeds" doing nothing or the wrong thing, and no failure
without a message naming the field or file (issue 13, cases 7-13, 15)."""
import logging
import math
import os
import os.path as osp
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model.utils import _BatchNormXd
from mmengine.registry import DefaultScope
from torch import nn

from densesiam_mm.apis import build_runner
from densesiam_mm.engine.hooks import NaNGuardHook
from ..conftest import REPO_ROOT, config_path, load_script
from ._utils import make_images, read_logs, tiny_cfg, write_tiny_config

DEMO_CFG = config_path('densesiam',
                       'densesiam_resnet18_1xb8-coslr-60i_demo.py')
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')


def _tiny(tmp_path, num_images=4, extra='', **kwargs):
    data = make_images(tmp_path / 'images', num=num_images)
    return write_tiny_config(tmp_path / 'tiny.py', data, extra=extra, **kwargs)


# -- case 7: an epoch that trains nothing ----------------------------------
def test_data_set_smaller_than_batch_with_drop_last(tmp_path):
    cfg = tiny_cfg(
        _tiny(tmp_path), tmp_path / 'work', **{
            'train_dataloader.batch_size': 8,
            'train_dataloader.drop_last': True,
            'train_dataloader.sampler':
            dict(type='DefaultSampler', shuffle=True)
        })
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    with pytest.raises(
            ValueError,
            match=r'has 4 images, fewer than '
            r'train_dataloader\.batch_size=8 x 1 process\(es\) = '
            r'8, and drop_last=True: every epoch would train 0 '
            'iterations'):
        build_runner(cfg)


# -- case 8: --auto-scale-lr on a config without auto_scale_lr ------------
def test_auto_scale_lr_without_auto_scale_lr_in_config(tmp_path):
    assert 'auto_scale_lr' not in Config.fromfile(DEMO_CFG)
    train = load_script(TRAIN)
    sys_argv = sys.argv
    sys.argv = [
        TRAIN, DEMO_CFG, '--auto-scale-lr', '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    try:
        args = train.parse_args()
    finally:
        sys.argv = sys_argv
    cfg = train.merge_args(Config.fromfile(DEMO_CFG), args)
    # the config's own total batch (1x8 in its name) is the base
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=8)
    runner = build_runner(cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    lrs = [g['lr'] for g in runner.optim_wrapper.optimizer.param_groups]
    assert lrs and all(lr == pytest.approx(0.05 * 16 / 8) for lr in lrs), \
        sorted(set(lrs))
    # SimSiam's fixed predictor lr follows the same linear rule
    hook, = [h for h in runner.hooks if type(h).__name__ == 'SimSiamHook']
    assert hook.lr == pytest.approx(0.1)


# -- case 9: 16-bit label maps ----------------------------------------------
def test_16bit_label_map_above_255_is_refused(tmp_path):
    from mmseg.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmseg'):
        load = TRANSFORMS.build(dict(type='LoadCheckedSegAnnotations'))
    label = np.full((6, 8), 3, np.uint16)
    label[:, :2] = 259  # would become 3 (Road) after mmseg's uint8 cast

    def results(name, array):
        path = str(tmp_path / name)
        assert cv2.imwrite(path, array)
        return dict(
            seg_map_path=path,
            img_path='frame.png',
            ori_shape=(6, 8),
            seg_fields=[],
            reduce_zero_label=False,
            label_map={11: 255},
            num_classes=11)

    with pytest.raises(
            ValueError,
            match=r'deep\.png .* uint16 with values '
            r'\[259\] above 255.*259 -> 3'):
        load(results('deep.png', label))
    # 16 bits with ids that fit, and 8 bits: loaded
    label[:, :2] = 11
    out = load(results('deep_ok.png', label))['gt_seg_map']
    assert out.dtype == np.uint8 and set(np.unique(out)) == {3, 255}
    out = load(results('flat.png', label.astype(np.uint8)))['gt_seg_map']
    assert set(np.unique(out)) == {3, 255}


# -- case 10: K without an upper bound -------------------------------------
def test_grid_size_upper_bound():
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(DEMO_CFG)
    cfg.model.grid_size = 1000
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(
                ValueError, match=r'`grid_size` .* at most 64, '
                'but got 1000'):
            MODELS.build(cfg.model)


# -- case 11: batch of 1 with BN heads --------------------------------------
def test_batch_size_one_names_the_field(tmp_path):
    cfg = tiny_cfg(
        _tiny(tmp_path), tmp_path / 'work',
        **{'train_dataloader.batch_size': 1})
    runner = build_runner(cfg)
    with pytest.raises(
            ValueError,
            match=r"BN layer 'neck\.\w+' "
            r'\(BatchNorm1d\) got one value per channel .*'
            r'train_dataloader\.batch_size >= 2 per process'):
        runner.train()  # at the first forward, not deep inside torch


@pytest.mark.parametrize('norm', [nn.BatchNorm1d(4), _BatchNormXd(4)])
def test_bn_guard_names_the_field_for_a_batch_of_one(norm):
    from densesiam_mm.apis.preflight import guard_batch_norm
    head = guard_batch_norm(nn.Sequential(nn.Linear(3, 4), norm)).train()
    head(torch.ones(2, 3))  # two samples: fine
    with pytest.raises(
            ValueError,
            match=r"BN layer '1' \(\w+\) got one "
            r'value per channel \(input \(1, 4\)\).*'
            r'train_dataloader\.batch_size'):
        head(torch.ones(1, 3))
    head.eval()(torch.ones(1, 3))  # running statistics: fine


# -- case 12: every image unreadable ----------------------------------------
def test_all_images_unreadable_stops_with_a_count(tmp_path):
    folder = tmp_path / 'images'
    os.makedirs(folder)
    for i in range(3):
        (folder / f'bad{i}.jpg').write_bytes(b'\xff\xd8\xff' + bytes(99))
    extra = ("train_pipeline[0] = dict(type='CheckedLoadImageFromFile', "
             "on_unreadable='skip')\n")
    config = write_tiny_config(tmp_path / 'tiny.py', folder, extra=extra)
    work_dir = tmp_path / 'work'
    runner = build_runner(tiny_cfg(config, work_dir))
    with pytest.raises(
            OSError, match='all 3 image files of the data set '
            'are unreadable'):
        runner.train()
    warnings = [
        line for line in read_logs(work_dir).splitlines()
        if 'CheckedLoadImageFromFile: skipped' in line
    ]
    assert len(warnings) <= 3  # once per file, not 1,001 times
    assert any('(3 unreadable file(s) so far' in w for w in warnings) or \
        len(warnings) < 3


# -- case 13: empty val folder; NaN advice without a checkpoint ------------
def test_empty_val_folder_is_named(tmp_path):
    from mmseg.registry import DATASETS
    for sub in ('images/val', 'labels/val'):
        os.makedirs(tmp_path / sub)
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(
                ValueError,
                match=r'CamVidDataset: no \.jpg image '
                f'in {tmp_path}/images/val'):
            DATASETS.build(
                dict(
                    type='CamVidDataset',
                    data_root=str(tmp_path),
                    data_prefix=dict(
                        img_path='images/val', seg_map_path='labels/val')))


def test_nan_guard_advice_without_checkpoint(tmp_path):
    runner = SimpleNamespace(
        iter=0,
        work_dir=str(tmp_path),
        message_hub=SimpleNamespace(get_info=lambda key: None))
    message = NaNGuardHook()._message(runner, ['loss_dense'],
                                      dict(loss_dense=math.nan))
    assert 'no checkpoint has been written yet' in message
    assert '--resume' not in message
    assert 'start the run again after lowering the learning rate' in message
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    message = NaNGuardHook()._message(runner, ['loss_dense'],
                                      dict(loss_dense=math.nan))
    assert 'iter_4.pth. Resume with `--resume`' in message


# -- case 15: transfer_camvid.py --work-dir NEW_DIR -------------------------
def test_transfer_benchmark_creates_its_folders(tmp_path):
    bench = load_script('tools/benchmarks/transfer_camvid.py')
    log = tmp_path / 'new_dir' / 'pretrain' / 'densesiam.log'
    bench.run([sys.executable, '-c', 'print("trained")'], str(log))
    assert log.read_text().strip() == 'trained'


def test_unreadable_warning_is_logged_once_per_file(tmp_path):
    """Part of case 12: many skips of one bad file, one warning."""
    from mmengine.logging import MMLogger
    from mmpretrain.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        load = TRANSFORMS.build(
            dict(type='CheckedLoadImageFromFile', on_unreadable='skip'))
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    good = make_images(tmp_path / 'good', num=1)
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert load(dict(img_path=osp.join(good, os.listdir(good)[0])))
        for _ in range(5):
            assert load(dict(img_path=str(bad))) is None
    finally:
        logger.removeHandler(handler)
    assert load.num_skipped.value == 5
    assert load.num_unreadable_files.value == 1
    assert len([r for r in records if 'bad.jpg' in r]) == 1
