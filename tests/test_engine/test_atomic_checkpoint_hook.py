# Copyright (c) densesiam_mm contributors. All rights reserved.
"""AtomicCheckpointHook on a toy model: rotation and the previous best are
removed only after the new checkpoint is written; ``keep_ckpt_ids`` goes on
after a resume; every checkpoint carries its checksum."""
import os
import os.path as osp
import uuid

import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from torch import nn

from densesiam_mm.apis.runner import ToolRunner
from densesiam_mm.checkpoint import load_checkpoint_file
from densesiam_mm.engine.fileio import AtomicLocalBackend
from densesiam_mm.engine.hooks import AtomicCheckpointHook


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, mode='loss'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=(out - 1).pow(2).mean())
        return [out]


class ScriptedMetric(BaseMetric):
    """Reports the next of ``scores`` as ``acc`` at each validation."""

    def __init__(self, scores):
        super().__init__()
        self.scores = list(scores)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(acc=self.scores.pop(0))


def _runner(work_dir, max_iters, scores=None, resume=False, **checkpoint):
    torch.manual_seed(0)
    loader = dict(
        dataset=[dict(inputs=x) for x in torch.randn(16, 4)],
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        batch_size=2,
        num_workers=0)
    val = {}
    if scores is not None:
        val = dict(
            val_dataloader=loader,
            val_evaluator=Evaluator([ScriptedMetric(scores)]),
            val_cfg=dict())
    # ToolRunner: the tools' Runner, which resumes mmengine's checkpoints
    # under torch's weights_only default
    return ToolRunner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'atomic_{uuid.uuid4().hex}',
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        default_hooks=dict(
            checkpoint=dict(
                type='AtomicCheckpointHook', by_epoch=False, **checkpoint)),
        resume=resume,
        default_scope='mmpretrain',
        **val)


def _pth(work_dir):
    return sorted(p for p in os.listdir(str(work_dir)) if '.pth' in p)


def _record_writes(monkeypatch, work_dir):
    """The checkpoint files present in ``work_dir`` at every write."""
    seen = []
    put = AtomicLocalBackend.put

    def recording_put(self, obj, filepath):
        seen.append((osp.basename(str(filepath)), _pth(work_dir)))
        return put(self, obj, filepath)

    monkeypatch.setattr(AtomicLocalBackend, 'put', recording_put)
    return seen


def test_rotation_after_the_write(tmp_path, monkeypatch):
    seen = _record_writes(monkeypatch, tmp_path)
    runner = _runner(tmp_path, 3, interval=1, max_keep_ckpts=1)
    runner.train()
    assert _pth(tmp_path) == ['iter_3.pth']
    # While iter_N was written, iter_{N-1} was still there.
    assert seen == [('iter_1.pth', []), ('iter_2.pth', ['iter_1.pth']),
                    ('iter_3.pth', ['iter_2.pth'])]
    hook = next(h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    assert hook.max_keep_after_write == 1 and list(hook.keep_ckpt_ids) == [3]
    assert (tmp_path / 'last_checkpoint').read_text() == \
        str(tmp_path / 'iter_3.pth')
    ckpt = load_checkpoint_file(str(tmp_path / 'iter_3.pth'))
    assert len(ckpt['meta']['sha256']) == 64
    assert ckpt['message_hub']['runtime_info']['keep_ckpt_ids'] == [3]


def test_resumed_run_goes_on_rotating_the_same_files(tmp_path):
    _runner(tmp_path, 4, interval=1, max_keep_ckpts=2).train()
    assert _pth(tmp_path) == ['iter_3.pth', 'iter_4.pth']
    saved = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    assert saved['message_hub']['runtime_info']['keep_ckpt_ids'] == [3, 4]
    _runner(tmp_path, 6, resume=True, interval=1, max_keep_ckpts=2).train()
    assert _pth(tmp_path) == ['iter_5.pth', 'iter_6.pth']


def test_fewer_kept_checkpoints_on_resume(tmp_path):
    """mmengine's semantics: a smaller max_keep_ckpts at resume removes the
    oldest of the kept checkpoints at the start."""
    _runner(tmp_path, 3, interval=1, max_keep_ckpts=3).train()
    assert _pth(tmp_path) == ['iter_1.pth', 'iter_2.pth', 'iter_3.pth']
    runner = _runner(tmp_path, 3, resume=True, interval=1, max_keep_ckpts=1)
    runner.train()  # nothing left to train: only the start runs
    assert _pth(tmp_path) == ['iter_3.pth']


def test_previous_best_removed_after_the_new_best(tmp_path, monkeypatch):
    seen = _record_writes(monkeypatch, tmp_path)
    runner = _runner(
        tmp_path,
        8,
        scores=[0.1, 0.3, 0.2, 0.5],
        interval=2,
        max_keep_ckpts=1,
        save_best='acc')
    runner.train()
    assert _pth(tmp_path) == ['best_acc_iter_8.pth', 'iter_8.pth']
    # the new best was written while the previous one still existed
    for name, before in seen:
        if name == 'best_acc_iter_4.pth':
            assert 'best_acc_iter_2.pth' in before, seen
        if name == 'best_acc_iter_8.pth':
            assert 'best_acc_iter_4.pth' in before, seen
    assert 'best_acc_iter_6.pth' not in [name for name, _ in seen]
    best = load_checkpoint_file(str(tmp_path / 'best_acc_iter_8.pth'))
    assert best['meta']['iter'] == 8 and len(best['meta']['sha256']) == 64
    # mmengine saves the last checkpoint again after a new best, so that it
    # records the best: iter_8.pth knows best_acc_iter_8.pth
    last = load_checkpoint_file(str(tmp_path / 'iter_8.pth'))
    info = last['message_hub']['runtime_info']
    assert info['best_ckpt'] == str(tmp_path / 'best_acc_iter_8.pth')
    assert info['best_score'] == 0.5
    assert (tmp_path / 'last_checkpoint').read_text() == \
        str(tmp_path / 'iter_8.pth')


def test_best_checkpoint_between_periodic_ones_is_rotated(tmp_path):
    """Validation at iteration 2, 4, 6, 8 and checkpoints every 4: a new
    best at iteration 6 saves iter_6.pth (as mmengine does), which joins the
    rotation."""
    runner = _runner(
        tmp_path,
        8,
        scores=[0.1, 0.2, 0.3, 0.1],
        interval=4,
        max_keep_ckpts=1,
        save_best='acc')
    runner.train()
    assert _pth(tmp_path) == ['best_acc_iter_6.pth', 'iter_8.pth']
    last = load_checkpoint_file(str(tmp_path / 'iter_8.pth'))
    assert last['message_hub']['runtime_info']['keep_ckpt_ids'] == [8]
