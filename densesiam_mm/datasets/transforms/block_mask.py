# Copyright (c) densesiam_mm contributors. All rights reserved.
"""BEiT block masking with an exact number of masked patches."""
import numpy as np
from mmpretrain.datasets.transforms import BEiTMaskGenerator
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ExactCountBlockMask(BEiTMaskGenerator):
    """mmpretrain's ``BEiTMaskGenerator``, topped up to an exact count.

    BEiT's block masking adds random rectangles of at least
    ``min_num_patches`` patches until ``num_masking_patches`` are masked, but
    may stop short when no rectangle fits; then random single patches are
    masked until the count is exact. Every image of a batch then has the
    same number of visible patches (``L - num_masking_patches``), which the
    encoder needs to batch them. Random numbers come from numpy (as the base
    class), seeded by mmengine's ``randomness`` and its per-worker seeding.

    **Added Keys:** ``mask`` (np.bool_, ``(g, g)``, ``True`` = masked);
    ``PackInputs`` packs it as ``data_sample.mask``.

    Args:
        input_size (int): g, patches per side (224 / 16 = 14).
        num_masking_patches (int): patches to mask (118 of 196).
        min_num_patches (int): smallest block. Defaults to 16.
        max_num_patches (int, optional): largest block. Defaults to
            ``num_masking_patches``.
        min_aspect (float): smallest block aspect ratio. Defaults to 0.3.
        max_aspect (float, optional): defaults to ``1 / min_aspect``.
    """

    def __init__(self,
                 input_size: int,
                 num_masking_patches: int,
                 min_num_patches: int = 16,
                 max_num_patches=None,
                 min_aspect: float = 0.3,
                 max_aspect=None) -> None:
        size = input_size if isinstance(input_size, int) else input_size[0]
        if not 0 < num_masking_patches < size * size:
            raise ValueError(
                f'ExactCountBlockMask: num_masking_patches must be in '
                f'(0, {size * size}) for a {size}x{size} grid, got '
                f'{num_masking_patches}.')
        super().__init__(
            input_size=input_size,
            num_masking_patches=num_masking_patches,
            min_num_patches=min_num_patches,
            max_num_patches=max_num_patches,
            min_aspect=min_aspect,
            max_aspect=max_aspect)

    def transform(self, results: dict) -> dict:
        # BEiT's blocks (the base class's ``_mask``), stopping when no
        # block fits (the base ``transform`` would retry for ever) ...
        mask = np.zeros((self.height, self.width), dtype=int)
        count = 0
        while count < self.num_masking_patches:
            limit = min(self.num_masking_patches - count, self.max_num_patches)
            delta = self._mask(mask, limit)
            if delta == 0:
                break
            count += delta
        # ... then single random patches up to the exact count.
        mask = mask.astype(np.bool_)
        missing = self.num_masking_patches - int(mask.sum())
        if missing > 0:
            free = np.flatnonzero(~mask.reshape(-1))
            chosen = np.random.choice(free, missing, replace=False)
            mask.reshape(-1)[chosen] = True
        results['mask'] = mask
        return results
