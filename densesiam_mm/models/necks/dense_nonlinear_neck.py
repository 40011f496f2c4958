# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@MODELS.register_module()
class DenseNonLinearNeck(BaseModule):
    """The dense (per-pixel) counterpart of mmpretrain's ``NonLinearNeck``.

    Structure: conv1x1-bn-[relu-conv1x1-bn] where the bracket repeats
    ``num_layers - 1`` times; 1x1 convolutions apply the same MLP to every
    location. PixSim's projector g is
    ``DenseNonLinearNeck(num_layers=3, with_last_bn_affine=False)`` and its
    predictor h is ``DenseNonLinearNeck(num_layers=2, with_last_bn=False,
    with_last_bias=True)``, as in SimSiam.

    With BatchNorm-type norms (BN, SyncBN) the MLP runs as one GEMM over all
    ``B * H * W`` pixels; parameters and state dict are the convolutions'.

    Args:
        in_channels (int): input channels.
        hid_channels (int): hidden channels.
        out_channels (int): output channels.
        num_layers (int): number of 1x1 conv layers. Defaults to 2.
        with_bias (bool): bias in the convs but the last. Defaults to False.
        with_last_bn (bool): BN after the last conv. Defaults to True.
        with_last_bn_affine (bool): affine parameters in the last BN.
            Defaults to True.
        with_last_bias (bool): bias in the last conv. Defaults to False.
        in_index (int): which backbone output to use. Defaults to -1.
        norm_cfg (dict): norm layer config. Defaults to
            ``dict(type='SyncBN')``.
    """

    def __init__(
        self,
        in_channels: int,
        hid_channels: int,
        out_channels: int,
        num_layers: int = 2,
        with_bias: bool = False,
        with_last_bn: bool = True,
        with_last_bn_affine: bool = True,
        with_last_bias: bool = False,
        in_index: int = -1,
        norm_cfg: dict = dict(type='SyncBN'),
        init_cfg: Optional[Union[dict, List[dict]]] = [
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]
    ) -> None:
        super().__init__(init_cfg)
        if num_layers < 1:
            raise ValueError('DenseNonLinearNeck: `num_layers` must be >= 1, '
                             f'got {num_layers}.')
        self.in_index = in_index
        layers = []
        channels = in_channels
        for i in range(num_layers):
            last = i == num_layers - 1
            out = out_channels if last else hid_channels
            layers.append(
                nn.Conv2d(
                    channels,
                    out,
                    1,
                    bias=with_last_bias if last else with_bias))
            if not last:
                layers.append(build_norm_layer(norm_cfg, out)[1])
                layers.append(nn.ReLU(inplace=True))
            elif with_last_bn:
                layers.append(
                    build_norm_layer(
                        dict(norm_cfg, affine=with_last_bn_affine), out)[1])
            channels = out
        self.mlp = nn.Sequential(*layers)
        # The GEMM path of `forward` is exact when every norm is a BatchNorm
        # (statistics over B, H, W); other norms use the convolutions.
        self.per_pixel_gemm = all(
            isinstance(layer, (nn.Conv2d, _BatchNorm, nn.ReLU))
            for layer in layers)

    def forward(
            self, x: Union[torch.Tensor,
                           Tuple[torch.Tensor]]) -> Tuple[torch.Tensor]:
        """Forward.

        Args:
            x (Tensor | tuple[Tensor]): ``(B, C_in, H, W)`` map, or the
                backbone's outputs (``in_index`` picks one).

        Returns:
            tuple[Tensor]: ``((B, C_out, H, W), )``.
        """
        if isinstance(x, (tuple, list)):
            x = x[self.in_index]
        if not self.per_pixel_gemm:
            return (self.mlp(x), )
        # A 1x1 conv is one linear map applied at every pixel: run the MLP as
        # a single GEMM over all B*H*W pixels (rows), instead of per-image
        # convolutions (PyTorch's CPU path for 1x1 convs on small batches),
        # and BN over the rows, which are exactly BN's (B, H, W) samples.
        num, _, height, width = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(num * height * width, -1)
        for layer in self.mlp:
            if isinstance(layer, nn.Conv2d):
                rows = F.linear(rows, layer.weight.flatten(1), layer.bias)
            elif isinstance(layer, _BatchNorm):
                rows = layer(rows[:, :, None, None]).flatten(1)
            else:
                rows = layer(rows)
        out = rows.view(num, height, width, -1).permute(0, 3, 1, 2)
        return (out.contiguous(), )
