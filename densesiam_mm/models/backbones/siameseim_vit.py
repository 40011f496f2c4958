# Copyright (c) densesiam_mm contributors. All rights reserved.
"""ViT encoder of SiameseIM: the visible tokens of a given mask."""
from typing import Optional, Tuple

import torch
from mmpretrain.models.selfsup.mae import MAEViT
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from torch import Tensor


def check_patch_multiple(img_size, patch_size) -> None:
    """Refuse an ``img_size`` that is not a multiple of ``patch_size``.

    mmcv's ``PatchEmbed`` would pad such images silently (its adaptive
    ``'corner'`` padding) and the last row and column of patches would be
    partly padding.
    """
    if isinstance(patch_size, bool) or not isinstance(patch_size, int):
        return  # mmpretrain checks other types
    sizes = (img_size, img_size) if isinstance(img_size, int) else img_size
    if any(size % patch_size for size in sizes):
        fixed = tuple(
            max(1, round(size / patch_size)) * patch_size for size in sizes)
        example = fixed[0] if fixed[0] == fixed[1] else fixed
        raise ValueError(
            f'SiameseIMViT: `img_size` {img_size!r} '
            '(model.backbone.img_size) is not a multiple of `patch_size` '
            f'{patch_size} (model.backbone.patch_size): the patch embedding '
            'would pad the images silently. Set img_size, and the views\' '
            'crop size (`scale` of RandomResizedCropWithBox), to a multiple '
            f'of {patch_size}, e.g. {example}.')


@MODELS.register_module()
class SiameseIMViT(MAEViT):
    """mmpretrain's ``MAEViT`` encoding the visible tokens of a given mask.

    As ``MAEViT``: fixed 2-D sine-cosine position table (``pos_embed``, not
    learnt), xavier-initialised patch embedding, class token. Differences:

    - the mask comes from the data (``(B, L)`` bool, ``True`` = masked, the
      same count in every image, e.g. from ``ExactCountBlockMask``) instead
      of being drawn inside;
    - ``frozen_patch_embed=True`` (default) fixes the patch embedding at its
      initialisation, as the authors pre-train: its parameters do not
      require gradients (and the optimizer constructor leaves them out);
    - SiameseIM uses no final norm (``final_norm=False``) and the raw token
      sequence (``out_type='raw'``).

    The state dict is that of mmpretrain's ``VisionTransformer``, so the
    weights load into it (and, converted, into mmseg's) without changes.

    Args:
        frozen_patch_embed (bool): fix the patch embedding. Defaults to True.
        **kwargs: see ``mmpretrain.models.MAEViT`` (``mask_ratio`` unused).
    """

    def __init__(self,
                 arch='b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 final_norm: bool = False,
                 out_type: str = 'raw',
                 frozen_patch_embed: bool = True,
                 **kwargs) -> None:
        check_patch_multiple(img_size, patch_size)
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            final_norm=final_norm,
            out_type=out_type,
            **kwargs)
        self.patch_size = patch_size
        self.frozen_patch_embed = frozen_patch_embed
        if frozen_patch_embed:
            for param in self.patch_embed.parameters():
                param.requires_grad = False

    def forward(self,
                x: Tensor,
                mask: Optional[Tensor] = None,
                visible_index: Optional[Tensor] = None) -> Tuple[Tensor]:
        """Encode all tokens (``mask=None``) or the visible ones.

        Args:
            x (Tensor): ``(B, 3, H, W)`` images.
            mask (Tensor, optional): ``(B, L)`` bool, ``True`` where a patch
                is masked, ``L = (H/p) * (W/p)``.
            visible_index (Tensor, optional): ``(B, V)`` long, the visible
                patches of ``mask`` in raster order, computed and checked
                by the caller on the host (``SiameseIM``): then the mask is
                not read here (no host-device sync).

        Returns:
            tuple[Tensor]: with a mask, ``((B, 1 + V, C),)`` the class token
            and the ``V`` visible tokens in raster order; without, the
            outputs of ``VisionTransformer.forward``.
        """
        if mask is None:
            return super(MAEViT, self).forward(x)
        batch = x.size(0)
        tokens, patch_resolution = self.patch_embed(x)
        num_patches = tokens.size(1)
        if mask.dim() != 2 or mask.shape != (batch, num_patches):
            raise ValueError(
                f'SiameseIMViT: the mask must be (B, L) = ({batch}, '
                f'{num_patches}) for {tuple(x.shape[2:])} images, got '
                f'{tuple(mask.shape)}.')
        mask = mask.to(torch.bool)
        counts = (~mask).sum(1) if visible_index is None else None
        if visible_index is None and not bool((counts == counts[0]).all()):
            raise ValueError(
                'SiameseIMViT: every image must keep the same number of '
                f'visible patches, got {counts.tolist()}; use '
                'ExactCountBlockMask.')
        pos_embed = resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        tokens = tokens + pos_embed[:, 1:]
        if visible_index is None:
            tokens = tokens[~mask].reshape(batch, -1, tokens.size(-1))
        else:
            tokens = torch.gather(
                tokens, 1, visible_index[...,
                                         None].expand(-1, -1, tokens.size(-1)))
        cls_token = (self.cls_token + pos_embed[:, :1]).expand(batch, -1, -1)
        tokens = torch.cat([cls_token, tokens], dim=1)
        tokens = self.drop_after_pos(tokens)
        for layer in self.layers:
            tokens = layer(tokens)
        if self.final_norm:
            tokens = self.ln1(tokens)
        return (tokens, )
