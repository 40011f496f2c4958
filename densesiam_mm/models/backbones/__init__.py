# Copyright (c) densesiam_mm contributors. All rights reserved.
from .siameseim_vit import SiameseIMViT

__all__ = ['SiameseIMViT']
