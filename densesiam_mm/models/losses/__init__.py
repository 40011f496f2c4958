# Copyright (c) densesiam_mm contributors. All rights reserved.
from .dense_similarity_loss import DenseSimilarityLoss, masked_mean
from .info_nce_loss import RegionInfoNCELoss

__all__ = ['DenseSimilarityLoss', 'RegionInfoNCELoss', 'masked_mean']
