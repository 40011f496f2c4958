# Copyright (c) densesiam_mm contributors. All rights reserved.
"""BEiT block masking with an exact number of masked patches."""
import math
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ExactCountBlockMask(BaseTransform):
    """BEiT's block masking, topped up to an exact count (SiameseIM's
    ``fixed_num_masking_patches``).

    Random rectangles are masked until ``num_masking_patches`` patches are:
    each try draws an area ``U(min_num_patches, limit)`` (``limit`` = the
    patches still to mask, at most ``max_num_patches``) and a log-uniform
    aspect ratio, rounds the sides ``h, w`` and, when the rectangle is
    smaller than the grid, places its top-left corner uniformly in
    ``0 .. g - h`` x ``0 .. g - w`` (both bounds included, as the authors'
    generator: every row and column can be covered); a rectangle is kept
    when it adds between 1 and ``limit`` new patches; 10 tries per block.
    When no block fits any more, random single patches are masked until the
    count is exact, so every image of a batch has ``L - num_masking_patches``
    visible patches (the encoder batches them). Random numbers come from
    numpy, seeded by mmengine's ``randomness`` and its per-worker seeding.

    **Added Keys:** ``mask`` (np.bool_, ``(g, g)``, ``True`` = masked);
    ``PackInputs`` packs it as ``data_sample.mask``.

    Args:
        input_size (int | tuple[int, int]): g, patches per side (224 / 16 =
            14).
        num_masking_patches (int): patches to mask (118 of 196).
        min_num_patches (int): smallest block. Defaults to 16.
        max_num_patches (int, optional): largest block. Defaults to
            ``num_masking_patches``.
        min_aspect (float): smallest block aspect ratio. Defaults to 0.3.
        max_aspect (float, optional): defaults to ``1 / min_aspect``.
    """

    def __init__(self,
                 input_size: Union[int, Sequence[int]],
                 num_masking_patches: int,
                 min_num_patches: int = 16,
                 max_num_patches: Optional[int] = None,
                 min_aspect: float = 0.3,
                 max_aspect: Optional[float] = None) -> None:
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        self.height, self.width = (int(v) for v in input_size)
        if not 0 < num_masking_patches < self.height * self.width:
            raise ValueError(
                f'ExactCountBlockMask: num_masking_patches must be in '
                f'(0, {self.height * self.width}) for a {self.height}x'
                f'{self.width} grid, got {num_masking_patches}.')
        if not 0 < min_aspect:
            raise ValueError('ExactCountBlockMask: min_aspect must be > 0, '
                             f'got {min_aspect}.')
        self.num_masking_patches = int(num_masking_patches)
        self.min_num_patches = min_num_patches
        self.max_num_patches = num_masking_patches \
            if max_num_patches is None else max_num_patches
        max_aspect = max_aspect or 1 / min_aspect
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))

    def add_block(self, mask: np.ndarray, limit: int) -> int:
        """Mask one random block of at most ``limit`` new patches in
        ``mask`` (``(g, g)`` int, changed in place); returns how many."""
        for _ in range(10):
            area = np.random.uniform(self.min_num_patches, limit)
            aspect = math.exp(np.random.uniform(*self.log_aspect_ratio))
            h = int(round(math.sqrt(area * aspect)))
            w = int(round(math.sqrt(area / aspect)))
            if w >= self.width or h >= self.height:
                continue
            top = np.random.randint(0, self.height - h + 1)  # inclusive
            left = np.random.randint(0, self.width - w + 1)
            block = mask[top:top + h, left:left + w]
            new = h * w - int(block.sum())
            if 0 < new <= limit:
                block[...] = 1
                return new
        return 0

    def transform(self, results: dict) -> dict:
        mask = np.zeros((self.height, self.width), dtype=int)
        count = 0
        while count < self.num_masking_patches:
            limit = min(self.num_masking_patches - count, self.max_num_patches)
            delta = self.add_block(mask, limit)
            if delta == 0:
                break
            count += delta
        # single random patches up to the exact count
        mask = mask.astype(np.bool_)
        missing = self.num_masking_patches - int(mask.sum())
        if missing > 0:
            free = np.flatnonzero(~mask.reshape(-1))
            chosen = np.random.choice(free, missing, replace=False)
            mask.reshape(-1)[chosen] = True
        results['mask'] = mask
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size=({self.height}, '
                f'{self.width}), num_masking_patches='
                f'{self.num_masking_patches}, min_num_patches='
                f'{self.min_num_patches}, max_num_patches='
                f'{self.max_num_patches})')
