# Copyright (c) densesiam_mm contributors. All rights reserved.
from .multi_view_seg_data_preprocessor import MultiViewSegDataPreProcessor

__all__ = ['MultiViewSegDataPreProcessor']
