# Copyright (c) densesiam_mm contributors. All rights reserved.
"""PiCIE's clustering and DenseSiam-Seg on 2 CPU processes (gloo,
tools/dist_train.sh) vs 1 process, 2 epochs on 8 CamVid frames at 32 px.

Same global batches (2 x 2 vs 1 x 4; mmengine's DefaultSampler gives rank r
the entries ``r::2`` of the single process's permutation), same views
(``NestedCropViews(replay_seed=0)``, no workers) and GroupNorm in the
encoder (per image, so the forward pass does not depend on the split).
The clustering hook reads the data in index order on each rank (2 per
batch) and the single process at batch 4: the same images per step.
"""
import os
import os.path as osp

import pytest
import torch

from ..conftest import config_path, shared_path
from ..test_reliability._utils import DIST_TRAIN, free_port, run, train_cmd

PICIE = config_path('unsup_seg', 'picie_resnet18-fpn_1xb8-3e_camvid.py')
DSS = config_path('unsup_seg', 'densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py')
NUM_IMAGES = 8
CONFIG = '''
_base_ = {base!r}
custom_imports = dict(
    imports=['densesiam_mm', 'tests.test_engine.clustering_recorder'],
    allow_failed_imports=False)
norm = dict(_delete_=True, type='GN', num_groups=1, requires_grad=True)
model = dict(backbone=dict(norm_cfg=norm))
train_pipeline = _base_.train_pipeline
train_pipeline[1].size = 64
train_pipeline[2].view_size = 32
train_dataloader = dict(
    batch_size={batch}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, pipeline=train_pipeline))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=2)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=100, save_last=False))
custom_hooks = _base_.custom_hooks + [dict(type='ClusteringRecorderHook')]
{extra}
'''
PICIE_EXTRA = '''
custom_hooks[0].update(batch_size={batch}, init_batches=1, update_batches=1,
                       progress=False)
'''
# Measured on this machine: epoch 1 (clustering before any training):
# centroids, labels and weights identical (difference 0), first loss
# 2.29425 (mean of the ranks) vs 2.29422. Epoch 2 follows one epoch of
# training whose loss is a weighted mean per rank (not over the 4 images)
# and k-means from other initial features: centroids differ by 0.057,
# 95.1 % of the labels agree, weights differ by 0.031; both ranks hold the
# same centroids and labels. DenseSiam-Seg (BN in its heads, per rank):
# first loss 3.46986 vs 3.44841.
CENTROID_TOL = (1e-5, 0.2)
LABEL_AGREEMENT = 0.9
WEIGHT_TOL = 0.1
PICIE_LOSS_TOL = 1e-3  # relative
DSS_LOSS_TOL = 0.02  # relative: per-rank BN in the heads


def _images(tmp_path):
    src = shared_path('camvid', 'images', 'train')
    folder = tmp_path / 'camvid' / 'images' / 'train'
    os.makedirs(folder)
    for name in sorted(os.listdir(src))[:NUM_IMAGES]:
        os.symlink(osp.join(src, name), folder / name)
    return str(tmp_path / 'camvid') + '/'


def _write(tmp_path, name, base, batch, extra=''):
    path = tmp_path / f'{name}.py'
    path.write_text(
        CONFIG.format(
            base=base,
            batch=batch,
            root=_images.root,
            extra=extra.format(batch=batch)))
    return str(path)


def _train(tmp_path, base, extra):
    _images.root = _images(tmp_path)
    single = _write(tmp_path, 'single', base, 4, extra)
    ddp = _write(tmp_path, 'ddp', base, 2, extra)
    run(train_cmd(single, tmp_path / 'single'), timeout=600)
    run([
        'env', f'PORT={free_port()}', 'bash', DIST_TRAIN, ddp, '2',
        '--work-dir',
        str(tmp_path / 'ddp')
    ],
        timeout=600)
    load = lambda d, r: torch.load(  # noqa: E731
        osp.join(str(tmp_path / d), f'clustering_rank{r}.pt'),
        weights_only=False)
    return load('single', 0), load('ddp', 0), load('ddp', 1)


def _first_losses(records):
    return [r['loss'] for r in records['losses']]


def test_picie_two_processes_label_every_image_like_one(tmp_path):
    single, rank0, rank1 = _train(tmp_path, PICIE, PICIE_EXTRA)
    every = list(range(NUM_IMAGES))
    for records in (single, rank0, rank1):
        assert [e['epoch'] for e in records['epochs']] == [0, 1]
        assert records.get('missing', []) == []
        for epoch in records['epochs']:
            assert epoch['keys'] == every
    # each rank trained on its half of every global batch
    for ref, r0, r1 in zip(single['losses'], rank0['losses'], rank1['losses']):
        assert r0['images'] == ref['images'][0::2]
        assert r1['images'] == ref['images'][1::2]
    diffs, agree, wdiffs = [], [], []
    for epoch, tol in enumerate(CENTROID_TOL):
        ref = single['epochs'][epoch]
        for other in (rank0, rank1):
            got = other['epochs'][epoch]
            diff = (ref['centroids'] - got['centroids']).abs().max().item()
            diffs.append(diff)
            assert diff < tol, (epoch, diff)
            same = sum(
                int((ref['labels'][k] == got['labels'][k]).sum())
                for k in every)
            total = sum(ref['labels'][k].numel() for k in every)
            agree.append(same / total)
            wdiffs.append((got['weights'] - ref['weights']).abs().max().item())
    print(f'PiCIE DDP vs single: centroid diffs {diffs}, label agreement '
          f'{agree}, weight diffs {wdiffs}')
    assert agree[:2] == [1.0, 1.0]
    assert min(agree[2:]) >= LABEL_AGREEMENT, agree
    assert max(wdiffs[:2]) < 1e-6 and max(wdiffs[2:]) < WEIGHT_TOL, wdiffs
    for epoch in range(2):  # the ranks agree with each other exactly
        a, b = rank0['epochs'][epoch], rank1['epochs'][epoch]
        assert torch.equal(a['centroids'], b['centroids'])
        assert all(torch.equal(a['labels'][k], b['labels'][k]) for k in every)
    ref_loss = single['losses'][0]['loss']
    ddp_loss = (rank0['losses'][0]['loss'] + rank1['losses'][0]['loss']) / 2
    assert ddp_loss == pytest.approx(ref_loss, rel=PICIE_LOSS_TOL)
    print(f'PiCIE DDP vs single: centroid diffs {diffs}, first loss '
          f'{ddp_loss:.5f} vs {ref_loss:.5f}')


def test_densesiam_seg_two_processes_train_like_one(tmp_path):
    single, rank0, rank1 = _train(tmp_path, DSS, '')
    for records in (single, rank0, rank1):
        assert [e['epoch'] for e in records['epochs']] == [0, 1]
        assert all(
            torch.isfinite(torch.tensor(r['loss'])) for r in records['losses'])
    for ref, r0, r1 in zip(single['losses'], rank0['losses'], rank1['losses']):
        assert r0['images'] == ref['images'][0::2]
        assert r1['images'] == ref['images'][1::2]
    ref_loss = single['losses'][0]['loss']
    ddp_loss = (rank0['losses'][0]['loss'] + rank1['losses'][0]['loss']) / 2
    assert ddp_loss == pytest.approx(ref_loss, rel=DSS_LOSS_TOL)
    print(f'DenseSiam-Seg DDP vs single: first loss {ddp_loss:.5f} vs '
          f'{ref_loss:.5f}')
