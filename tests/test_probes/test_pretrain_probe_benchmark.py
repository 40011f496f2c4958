# Copyright (c) densesiam_mm contributors. All rights reserved.
"""tools/benchmarks/pretrain_probe_camvid.py: identical pre-training
settings across methods, the table and its place in the docs."""
import argparse
import os.path as osp

from mmengine.config import Config

from tests.conftest import REPO_ROOT, load_script

TOOL = 'tools/benchmarks/pretrain_probe_camvid.py'


def test_methods_share_data_views_batch_schedule_and_seed():
    tool = load_script(TOOL)
    cfgs = {
        name: Config.fromfile(osp.join(REPO_ROOT, path))
        for name, path in tool.PRETRAIN_CONFIGS.items()
    }
    reference = cfgs['DenseSiam']
    for name, cfg in cfgs.items():
        for key in ('train_dataloader', 'param_scheduler', 'train_cfg',
                    'optim_wrapper', 'randomness'):
            assert cfg[key] == reference[key], (name, key)
    assert reference.train_dataloader.batch_size == 16
    assert reference.train_dataloader.dataset.pipeline[1].transforms[0][
        0].scale == 128
    assert cfgs['DenseSiam (λ2 = 0)'].model.region_sim_head is None
    assert cfgs['SimSiam'].model.type == 'SimSiam'


def test_table_goes_between_the_markers(tmp_path):
    tool = load_script(TOOL)
    entry = dict(mIoU=[10.0, 12.0, 14.0])
    rows = {
        'DenseSiam':
        dict(
            pretrain_time=dict(seconds=600, cpu_seconds=300),
            probe=dict(linear=entry, kmeans=entry, kmeans_over=entry),
            finetune=[dict(mIoU=5.0), dict(mIoU=7.0)]),
        'random init':
        dict(probe=dict(linear=entry, kmeans=entry, kmeans_over=entry)),
    }
    args = argparse.Namespace(probe_seeds=[0, 1, 2], finetune_seeds=[0, 1])
    text = tool.table(rows, args, 300)
    assert '| DenseSiam | 10.0 / 5.0 min | 12.00 ± 2.00 |' in text
    assert text.splitlines()[-1].endswith('| - |')  # no fine-tune yet
    doc = tmp_path / 'doc.md'
    doc.write_text('# title\n\n<!-- results:begin -->\nold\n'
                   '<!-- results:end -->\n\nafter\n')
    tool.write_table(text, str(doc))
    content = doc.read_text()
    assert 'old' not in content and text in content
    assert content.startswith('# title') and content.endswith('after\n')
