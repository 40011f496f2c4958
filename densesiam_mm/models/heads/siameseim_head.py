# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM predictor: visible tokens of view 1 -> tokens of view 2."""
import math
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from ..necks.siameseim_projector import token_bn_blocks
from ..utils.relative_position import absolute_position_code


@MODELS.register_module()
class SiameseIMHead(BaseModule):
    """Predictor h of SiameseIM and its loss on the EMA targets.

    The predictor reads the sequence

    ``[cls, visible tokens + absolute code, Q queries]``, where each query is
    ``mask_token + Linear(relative code)`` of one view-2 patch
    (:func:`~densesiam_mm.models.utils.relative_position_code`), runs
    ``num_layers`` token-BN transformer blocks over it and maps the ``Q``
    query outputs by
    a last ``Linear(D -> D)``: the prediction of the view-2 tokens.

    :meth:`normalize_target` normalises the target tokens by a LayerNorm
    without affine parameters; :meth:`loss` applies ``loss`` (UniGrad by
    default) in float32.

    Args:
        embed_dims (int): D. Defaults to 768.
        num_layers (int): predictor blocks. Defaults to 4.
        num_heads (int): attention heads. Defaults to 12.
        mlp_ratio (float): FFN width / D. Defaults to 4.
        norm_cfg (dict): norm of the blocks. Defaults to ``TokenBN``.
        loss (dict): the loss. Defaults to ``UniGradLoss(neg_weight=0.02)``.
    """

    def __init__(self,
                 embed_dims: int = 768,
                 num_layers: int = 4,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 norm_cfg: dict = dict(type='TokenBN'),
                 loss: dict = dict(type='UniGradLoss', neg_weight=0.02),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.query_embed = nn.Linear(2 * embed_dims, embed_dims)
        self.blocks = token_bn_blocks(num_layers, embed_dims, num_heads,
                                      mlp_ratio, norm_cfg)
        self.pred = nn.Linear(embed_dims, embed_dims)
        self.target_norm = nn.LayerNorm(embed_dims, elementwise_affine=False)
        self.loss_module = MODELS.build(loss)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, tokens: Tensor, mask: Tensor,
                relative_code: Tensor) -> Tensor:
        """Predict the view-2 tokens.

        Args:
            tokens (Tensor): ``(B, 1 + V, D)`` projected online tokens
                (class token first, visible patches in raster order).
            mask (Tensor): ``(B, L)`` bool mask of view 1 (``True`` =
                masked), ``V = L - mask.sum(1)``.
            relative_code (Tensor): ``(B, Q, 2D)`` relative position code of
                the ``Q`` view-2 patches.

        Returns:
            Tensor: ``(B, Q, D)`` predictions.
        """
        num_patches = mask.size(1)
        grid_size = math.isqrt(num_patches)
        if grid_size * grid_size != num_patches:
            raise ValueError(f'SiameseIMHead: the mask has {num_patches} '
                             'patches, not a square grid.')
        absolute = absolute_position_code(grid_size, self.embed_dims,
                                          tokens.device).to(tokens.dtype)
        # codes of the visible patches in raster order: a stable sort puts
        # them first; their count is the tokens' (no boolean-mask
        # indexing, whose data-dependent size is a host-device sync)
        visible_index = torch.argsort(
            mask.to(torch.uint8), dim=1, stable=True)[:, :tokens.size(1) - 1]
        visible = tokens[:, 1:] + absolute[visible_index]
        queries = self.mask_token + self.query_embed(
            relative_code.to(tokens.dtype))
        x = torch.cat([tokens[:, :1], visible, queries], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.pred(x[:, -queries.size(1):])

    @torch.no_grad()
    def normalize_target(self, target: Tensor) -> Tensor:
        """``(B, Q, D)`` raw target tokens -> LayerNorm (no affine) in
        float32, without gradient: the regression targets."""
        return self.target_norm(target.float())

    def loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Loss of ``(B, Q, D)`` predictions against the ``(B, Q, D)``
        targets of :meth:`normalize_target`, in float32."""
        return self.loss_module(pred.float(), target.detach())
