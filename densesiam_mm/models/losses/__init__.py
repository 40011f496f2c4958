# Copyright (c) densesiam_mm contributors. All rights reserved.
from .dense_similarity_loss import DenseSimilarityLoss, masked_mean
from .info_nce_loss import RegionInfoNCELoss
from .rebalanced_pseudo_label_loss import RebalancedPseudoLabelLoss
from .unigrad_loss import UniGradLoss, target_correlation

__all__ = [
    'DenseSimilarityLoss', 'RegionInfoNCELoss', 'RebalancedPseudoLabelLoss',
    'masked_mean', 'UniGradLoss', 'target_correlation'
]
