# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.autocast import autocast_off
from .dense_similarity_loss import masked_mean


@MODELS.register_module()
class RegionInfoNCELoss(BaseModule):
    """InfoNCE between matching regions of two views of the same image.

    For image ``b``, region ``n`` of the prediction is pulled towards region
    ``n`` of the target and pushed from the image's other regions:
    ``-log softmax_m(<p_bn, z_bm> / T)[n]`` with L2-normalised embeddings.
    Averaged over regions, then over valid pairs; float32 inside.

    Args:
        temperature (float): T. Defaults to 0.2.
    """

    def __init__(self, temperature: float = 0.2, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not temperature > 0:
            raise ValueError('RegionInfoNCELoss: `temperature` must be > 0, '
                             f'got {temperature!r}.')
        self.temperature = temperature

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(B, N, D)`` predicted region embeddings.
            target (Tensor): ``(B, N, D)`` target embeddings (detached by
                the caller, or not: the authors' kernel contrast).
            valid (Tensor, optional): ``(B,)`` bool, pairs to count.

        Returns:
            Tensor: scalar loss.
        """
        if pred.dim() != 3 or pred.size(1) < 2:
            raise ValueError(
                'RegionInfoNCELoss: needs (B, N, D) region embeddings with '
                f'N >= 2 regions to contrast, got shape {tuple(pred.shape)}; '
                'N is the number of region masks (DenseSiamSeg: '
                '`projector.out_channels`, the number of classes).')
        # float32 with autocast off: autocast would run the einsum (a bmm)
        # in fp16/bf16, i.e. the logits <p, z> / T at 8-11 mantissa bits
        with autocast_off(pred.device.type):
            pred = F.normalize(pred.float(), dim=-1)
            # 1/T on the (B, N, D) target rather than on the (B, N, N)
            # logits: one pass less over the logits forward and backward.
            target = F.normalize(target.float(), dim=-1) / self.temperature
            logits = torch.einsum('bnd,bmd->bnm', pred, target)
            labels = torch.arange(logits.size(1), device=logits.device)
            per_region = F.cross_entropy(
                logits.flatten(0, 1),
                labels.repeat(logits.size(0)),
                reduction='none').view(logits.shape[:2])
            return masked_mean(per_region.mean(dim=1), valid)
