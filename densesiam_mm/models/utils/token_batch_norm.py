# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Batch normalisation of token sequences."""
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from .autocast import autocast_off


@MODELS.register_module('TokenBN')
class TokenBatchNorm(nn.Module):
    """BatchNorm over the batch *and* the tokens of ``(B, N, C)`` sequences.

    SiameseIM's projector and predictor blocks normalise with BatchNorm in
    place of LayerNorm: each channel is standardised over all ``B * N``
    tokens of the batch (``BatchNorm1d`` on ``(B, C, N)``), which couples the
    tokens of different images and prevents the collapse of the dense
    targets. It computes in float32 with autocast off.

    Usable as a ``norm_cfg`` of mmpretrain's transformer layers:
    ``norm_cfg=dict(type='TokenBN')`` (``sync_bn=True`` for SyncBN; on one
    process densesiam_mm's models swap it back to BN).

    Args:
        num_features (int): C.
        eps (float): Defaults to 1e-5.
        momentum (float): running-statistics momentum. Defaults to 0.1.
        sync_bn (bool): synchronise statistics across processes.
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 momentum: float = 0.1,
                 sync_bn: bool = False) -> None:
        super().__init__()
        bn = nn.SyncBatchNorm if sync_bn else nn.BatchNorm1d
        self.bn = bn(num_features, eps=eps, momentum=momentum)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, N, C)`` -> ``(B, N, C)`` float32."""
        if x.dim() != 3:
            raise ValueError(
                f'TokenBatchNorm expects (B, N, C) tokens, got shape '
                f'{tuple(x.shape)}.')
        with autocast_off(x.device.type):
            return self.bn(x.float().transpose(1, 2)).transpose(1, 2)
