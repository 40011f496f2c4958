# Copyright (c) densesiam_mm contributors. All rights reserved.
from .pix_sim_head import PixSimHead
from .region_sim_head import RegionSimHead, region_embeddings
from .siameseim_head import SiameseIMHead

__all__ = ['PixSimHead', 'RegionSimHead', 'region_embeddings', 'SiameseIMHead']
