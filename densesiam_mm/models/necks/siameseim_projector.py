# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM projector: a linear embedding and token-BN transformer blocks."""
from typing import Optional, Sequence, Tuple

from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.registry import MODELS
from torch import Tensor, nn


def token_bn_blocks(num_layers: int, embed_dims: int, num_heads: int,
                    mlp_ratio: float, norm_cfg: dict) -> ModuleList:
    """``num_layers`` pre-norm transformer blocks (mmpretrain's
    ``TransformerEncoderLayer``) whose norms are ``norm_cfg``."""
    return ModuleList([
        TransformerEncoderLayer(
            embed_dims=embed_dims,
            num_heads=num_heads,
            feedforward_channels=int(mlp_ratio * embed_dims),
            qkv_bias=True,
            norm_cfg=norm_cfg) for _ in range(num_layers)
    ])


@MODELS.register_module()
class SiameseIMProjector(BaseModule):
    """Projector g of SiameseIM, shared in form by both branches.

    ``Linear(in_channels -> embed_dims)`` then ``num_layers`` transformer
    blocks normalised by BatchNorm over tokens (``TokenBN``). The online
    branch applies it to ``[cls, visible tokens]`` of the masked view, the
    EMA target branch (same weights, averaged) to all tokens of the other
    view.

    Args:
        in_channels (int): encoder width.
        embed_dims (int): projector width D. Defaults to 768.
        num_layers (int): blocks. Defaults to 2.
        num_heads (int): attention heads. Defaults to 12.
        mlp_ratio (float): FFN width / D. Defaults to 4.
        norm_cfg (dict): norm of the blocks. Defaults to ``TokenBN``.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 768,
                 num_layers: int = 2,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 norm_cfg: dict = dict(type='TokenBN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed = nn.Linear(in_channels, embed_dims)
        self.blocks = token_bn_blocks(num_layers, embed_dims, num_heads,
                                      mlp_ratio, norm_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        """``((B, N, C_in), ...)`` (the backbone's outputs; the last is
        used) -> ``((B, N, D),)``."""
        x = self.embed(inputs[-1])
        for block in self.blocks:
            x = block(x)
        return (x, )
