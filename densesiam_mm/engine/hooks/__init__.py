# Copyright (c) densesiam_mm contributors. All rights reserved.
from .region_sim_hook import RegionSimHook

__all__ = ['RegionSimHook']
