# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Refuse a ``Pretrained`` init that would leave a model at random weights,
in any OpenMMLab runner."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...checkpoint import check_pretrained_inits


@HOOKS.register_module()
class PretrainedCheckHook(Hook):
    """Check every ``Pretrained`` ``init_cfg`` of the model before mmengine
    initialises it (:func:`~densesiam_mm.checkpoint.check_pretrained_inits`).

    mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs
    missing keys, so a wrong ``prefix`` trains from random weights with exit
    code 0. ``Runner.train`` calls ``before_run`` before it initialises the
    model's weights: this hook then checks that each local file gives its
    module at least 90 % of its (backbone's) tensors by name and shape, and
    raises ``ValueError`` naming the file, the numbers and the ``prefix``
    that would match otherwise. mmengine's own ``Pretrained`` still loads
    the weights, so mmengine's and mmpretrain's special cases of that type
    (init order, ``zero_init_residual``, ViT position embedding) hold.

    Registered in mmengine's root registry, so mmdet's, mmseg's and
    mmpretrain's runners find it: add ``custom_hooks=[dict(
    type='PretrainedCheckHook')]`` to a config. ``tools/train.py`` adds it
    to every training config that lacks it.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_pretrained_inits(runner.model, runner.logger.info)
