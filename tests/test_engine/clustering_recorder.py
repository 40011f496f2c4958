# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A test hook: per rank, the clustering state at the first iteration of
each epoch (label keys, centroids, weights, whether every image of the batch
had a label) and every iteration's loss, saved at the end of the run to
``work_dir/clustering_rank{rank}.pt``."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ClusteringRecorderHook(Hook):
    priority = 'LOWEST'

    def before_run(self, runner):
        self.records = dict(epochs=[], losses=[])

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        images = [
            int(s.metainfo['sample_idx']) for s in data_batch['data_samples']
        ]
        stored = getattr(model, 'stored_labels', None)
        if batch_idx == 0:
            record = dict(epoch=runner.epoch, images=images)
            if stored is not None:
                record.update(
                    keys=sorted(stored),
                    labels={
                        k: v.clone()
                        for k, v in stored.items()
                    },
                    centroids=model.centroids.detach().clone(),
                    weights=model.epoch_class_weights.detach().clone())
            self.records['epochs'].append(record)
        if stored is not None:
            self.records.setdefault('missing', []).extend(i for i in images
                                                          if i not in stored)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        images = [
            int(s.metainfo['sample_idx']) for s in data_batch['data_samples']
        ]
        self.records['losses'].append(
            dict(
                epoch=runner.epoch, images=images,
                loss=float(outputs['loss'])))

    def after_run(self, runner):
        torch.save(
            self.records,
            osp.join(runner.work_dir, f'clustering_rank{get_rank()}.pt'))
