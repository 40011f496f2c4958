# Copyright (c) densesiam_mm contributors. All rights reserved.
from .base_unsup_segmentor import BaseUnsupSegmentor
from .densesiam import DenseSiam
from .densesiam_seg import DenseSiamSeg
from .picie import PiCIE
from .siameseim import SiameseIM

__all__ = [
    'DenseSiam', 'BaseUnsupSegmentor', 'DenseSiamSeg', 'PiCIE', 'SiameseIM'
]
