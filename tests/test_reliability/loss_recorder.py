# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Test-only hook: every rank writes its losses (mmengine logs rank 0's)."""
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Append ``{"iter": i, "images": [...], "loss": ..., ...}`` to
    ``losses_rank{R}.jsonl`` in the work dir."""

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        samples = (data_batch or {}).get('data_samples') or []
        row = dict(
            iter=runner.iter + 1,
            images=[osp.basename(s.get('img_path', '')) for s in samples])
        for key, value in (outputs or {}).items():
            row[key] = float(value.detach()) if hasattr(value, 'detach') \
                else float(value)
        path = osp.join(runner.work_dir, f'losses_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(row) + '\n')
