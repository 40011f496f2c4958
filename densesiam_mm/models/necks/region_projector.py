# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class RegionProjector(BaseModule):
    """RegionSim's projector g': an MLP on region embeddings.

    Structure: fc-bn-[relu-fc-bn], the bracket repeated ``num_layers - 1``
    times, on ``(M, C)`` rows: the layers, parameter names (``fc0``,
    ``bn0``, ``fc1``, ...), construction order and initialisation of
    mmpretrain's ``NonLinearNeck(with_avg_pool=False)``, so the same config
    arguments give the same parameters and outputs. In addition, the first
    layer ``fc0`` is linear (no activation before it) and
    :meth:`forward_hidden` runs the layers after it, which lets
    :class:`~.RegionSimHead` apply ``fc0`` before its soft-mask sum.

    Args:
        in_channels (int): input channels C.
        hid_channels (int): hidden channels.
        out_channels (int): output channels D.
        num_layers (int): number of fc layers. Defaults to 2.
        with_bias (bool): bias in the fc layers but the last. Defaults to
            False.
        with_last_bn (bool): BN after the last fc. Defaults to True.
        with_last_bn_affine (bool): affine parameters in the last BN.
            Defaults to True.
        with_last_bias (bool): bias in the last fc. Defaults to False.
        norm_cfg (dict): norm layer config. Defaults to
            ``dict(type='SyncBN')``.
        init_cfg (dict | list[dict], optional): Defaults to constant 1 for
            the norm layers (as ``NonLinearNeck``).
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
        norm_cfg: dict = dict(type='SyncBN'),
        init_cfg: Optional[Union[dict, List[dict]]] = [
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]
    ) -> None:
        super().__init__(init_cfg)
        if num_layers < 1:
            raise ValueError('RegionProjector: `num_layers` must be >= 1, '
                             f'got {num_layers}.')
        self.relu = nn.ReLU(inplace=True)
        self.fc0 = nn.Linear(in_channels, hid_channels, bias=with_bias)
        self.bn0 = build_norm_layer(norm_cfg, hid_channels)[1]
        # (fc, bn or None) after fc0-bn0, each preceded by a ReLU
        self.hidden_layers: List[Tuple[str, Optional[str]]] = []
        for i in range(1, num_layers):
            last = i == num_layers - 1
            channels = out_channels if last else hid_channels
            self.add_module(
                f'fc{i}',
                nn.Linear(
                    hid_channels,
                    channels,
                    bias=with_last_bias if last else with_bias))
            bn_name = None
            if not last:
                bn_name = f'bn{i}'
                self.add_module(bn_name,
                                build_norm_layer(norm_cfg, channels)[1])
            elif with_last_bn:
                bn_name = f'bn{i}'
                self.add_module(
                    bn_name,
                    build_norm_layer(
                        dict(**norm_cfg, affine=with_last_bn_affine),
                        channels)[1])
            self.hidden_layers.append((f'fc{i}', bn_name))

    def forward_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """The layers after ``fc0``: ``bn0-[relu-fc-bn]...``.

        Args:
            hidden (Tensor): ``(M, hid_channels)`` outputs of ``fc0``.

        Returns:
            Tensor: ``(M, out_channels)``.
        """
        x = self.bn0(hidden)
        for fc_name, bn_name in self.hidden_layers:
            x = getattr(self, fc_name)(self.relu(x))
            if bn_name is not None:
                x = getattr(self, bn_name)(x)
        return x

    def forward(self, x: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """``(x[0],)`` of ``(M, C)`` rows to ``((M, out_channels),)``."""
        assert len(x) == 1
        rows = x[0]
        return (self.forward_hidden(self.fc0(rows.view(rows.size(0), -1))), )
