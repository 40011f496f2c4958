# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Train a convolutional network in the channels-last memory format."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's 4-D parameters and buffers in the channels-last
    (NHWC) memory format before training.

    Convolutions whose weight is channels-last return channels-last
    outputs, so the whole network then runs in NHWC, the layout the
    bf16/fp16 convolution kernels of oneDNN (CPU) and cuDNN (tensor cores)
    prefer; the inputs need no change. Values are unchanged: only strides
    differ. Enable with ``tools/train.py --channels-last`` or
    ``custom_hooks=[dict(type='ChannelsLastHook')]``.

    It runs in ``before_run`` (priority ``VERY_HIGH``), after the Runner
    has wrapped the model: the module inside the wrapper is converted.
    Checkpoints hold the same values as a contiguous run's.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=torch.channels_last)
