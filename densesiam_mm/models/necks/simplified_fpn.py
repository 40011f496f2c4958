# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn


@MODELS.register_module()
class SimplifiedFPN(BaseModule):
    """PiCIE's simplified FPN: one stride-4 map from the four ResNet stages.

    Each stage ``C2..C5`` goes through a 1x1 lateral convolution to
    ``out_channels``; from the coarsest map down, the running map is
    bilinearly upsampled to the next finer stage and added to its lateral.
    No 3x3 output convolutions, no normalisation, no extra levels: the
    result is the finest (stride 4) map only.

    Args:
        in_channels (Sequence[int]): channels of the backbone stages, e.g.
            ``(64, 128, 256, 512)`` for ResNet-18.
        out_channels (int): channels of the output map. Defaults to 128.
        init_cfg (dict | list[dict], optional): initialisation config.
            Defaults to Caffe2's "xavier fill" (Detectron's FPN): Kaiming
            uniform with ``a = 1`` for a leaky ReLU over ``fan_in``, i.e.
            gain 1 and bound ``sqrt(3 / fan_in)``; mmengine's defaults
            (``nonlinearity='relu'``, which ignores ``a``, and
            ``mode='fan_out'``) gave ``sqrt(6 / fan_out)``.
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (64, 128, 256, 512),
        out_channels: int = 128,
        init_cfg: Optional[Union[dict, List[dict]]] = dict(
            type='Kaiming',
            layer='Conv2d',
            a=1,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) < 1:
            raise ValueError('SimplifiedFPN: `in_channels` needs at least '
                             'one stage.')
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.laterals = nn.ModuleList(
            nn.Conv2d(channels, out_channels, 1) for channels in in_channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Forward.

        Args:
            feats (Sequence[Tensor]): backbone stages, finest first,
                ``(B, in_channels[i], H / 2^(i+2), W / 2^(i+2))``.

        Returns:
            tuple[Tensor]: ``((B, out_channels, H / 4, W / 4), )``.
        """
        if len(feats) != len(self.laterals):
            raise ValueError(
                f'SimplifiedFPN: got {len(feats)} feature maps but '
                f'`in_channels` has {len(self.laterals)} entries; set the '
                'backbone `out_indices` to all four stages.')
        out = self.laterals[-1](feats[-1])
        for lateral, feat in zip(self.laterals[-2::-1], feats[-2::-1]):
            out = F.interpolate(
                out, size=feat.shape[2:], mode='bilinear',
                align_corners=False) + lateral(feat)
        return (out, )
