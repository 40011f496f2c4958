# Copyright (c) densesiam_mm contributors. All rights reserved.
from .block_mask import ExactCountBlockMask
from .geometric import RandomResizedCropWithBox
from .loading import CheckedLoadImageFromFile
from .loading_seg import LoadCheckedSegAnnotations, check_seg_dataset_paths
from .nested_crop_views import NestedCropViews
from .pack_multi_view_seg_inputs import PackMultiViewSegInputs
from .resize_center_crop import ResizeCenterCrop
from .wrappers import MultiViewWithGeometry

__all__ = [
    'RandomResizedCropWithBox', 'MultiViewWithGeometry',
    'CheckedLoadImageFromFile', 'LoadCheckedSegAnnotations',
    'check_seg_dataset_paths', 'PackMultiViewSegInputs', 'NestedCropViews',
    'ResizeCenterCrop', 'ExactCountBlockMask'
]
