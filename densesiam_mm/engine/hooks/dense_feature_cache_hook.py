# Copyright (c) densesiam_mm contributors. All rights reserved.
import time

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar
from mmseg.registry import HOOKS
from torch.utils.data import DataLoader


@HOOKS.register_module()
class DenseFeatureCacheHook(Hook):
    """Compute a frozen backbone's features of a split once, up front.

    Before training (and before each validation / test) every image of the
    split passes the data preprocessor and the frozen backbone once, in
    order, with a progress bar, filling the model's feature cache
    (:class:`~densesiam_mm.models.probes.LinearProbe` with
    ``cache_features=True``); the loops then read features instead of
    computing them. Images already cached cost only loading and hashing.
    Does nothing for a model without a cache.

    Args:
        splits (tuple[str]): which of ``'train'``, ``'val'``, ``'test'`` to
            fill. Defaults to all three.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, splits=('train', 'val', 'test')) -> None:
        unknown = set(splits) - {'train', 'val', 'test'}
        if unknown:
            raise ValueError(f'DenseFeatureCacheHook: unknown splits '
                             f'{sorted(unknown)}')
        self.splits = tuple(splits)

    def before_train(self, runner) -> None:
        if 'train' in self.splits:
            self.fill(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        if 'val' in self.splits:
            self.fill(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        if 'test' in self.splits:
            self.fill(runner, runner.test_dataloader, 'test')

    def fill(self, runner, dataloader, split: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        cache = getattr(model, 'feature_cache', None)
        if cache is None:
            return
        start, before = time.perf_counter(), len(cache)
        ordered = DataLoader(
            dataloader.dataset,
            batch_size=dataloader.batch_size,
            shuffle=False,
            num_workers=dataloader.num_workers,
            collate_fn=dataloader.collate_fn)
        runner.logger.info(f'DenseFeatureCacheHook: {split} features of '
                           f'{len(dataloader.dataset)} images')
        progress = ProgressBar(len(dataloader.dataset))
        for data in ordered:
            data = model.data_preprocessor(data, split == 'train')
            model.backbone_features(data['inputs'])
            for _ in range(len(data['inputs'])):
                progress.update()
        runner.logger.info(
            f'\nDenseFeatureCacheHook: {split}: {len(cache) - before} new '
            f'entries in {time.perf_counter() - start:.1f} s (cache: '
            f'{len(cache)} images, {cache.nbytes() / 2**20:.0f} MiB)')
