# Copyright (c) densesiam_mm contributors. All rights reserved.
from .dense_nonlinear_neck import DenseNonLinearNeck
from .region_projector import RegionProjector
from .siameseim_projector import SiameseIMProjector
from .simplified_fpn import SimplifiedFPN

__all__ = [
    'DenseNonLinearNeck', 'RegionProjector', 'SimplifiedFPN',
    'SiameseIMProjector'
]
