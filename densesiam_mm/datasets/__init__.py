# Copyright (c) densesiam_mm contributors. All rights reserved.
from .camvid import CamVidDataset
from .cocostuff27 import COCOStuff27Dataset
from .demo_data import demo_data_root
from .transforms import *  # noqa: F401,F403

__all__ = ['CamVidDataset', 'COCOStuff27Dataset', 'demo_data_root']
