# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Optimizer wrapper constructor that leaves frozen parameters out."""
from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, without ``requires_grad=False``
    parameters, with or without ``paramwise_cfg``.

    Without ``paramwise_cfg`` mmengine hands ``model.parameters()``, frozen
    ones included, to the optimizer (they are skipped at each step only
    because their gradient is ``None``); with it, mmengine skips them.
    SiameseIM freezes its patch embedding and position table and holds an
    EMA target whose parameters never get gradients; as the authors' timm
    parameter groups, this constructor leaves all of them out in both cases,
    so no optimizer state or weight decay can touch them. ``paramwise_cfg``
    (``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``,
    ``custom_keys``) works as in mmengine.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if not self.paramwise_cfg:
            # Go through add_params (mmengine skips it without options).
            self.paramwise_cfg = dict(bypass_duplicate=False)

    def add_params(self, params, module, prefix: str = '', **kwargs) -> None:
        super().add_params(params, module, prefix=prefix, **kwargs)
        if prefix == '':  # the top-level call, after the recursion
            params[:] = [
                group for group in params
                if all(p.requires_grad for p in group['params'])
            ]
