# Copyright (c) densesiam_mm contributors. All rights reserved.
from .geometric import RandomResizedCropWithBox
from .wrappers import MultiViewWithGeometry

__all__ = ['RandomResizedCropWithBox', 'MultiViewWithGeometry']
