# Copyright (c) densesiam_mm contributors. All rights reserved.
from .hungarian_iou_metric import (HungarianIoUMetric, hungarian_match,
                                   majority_match)

__all__ = ['HungarianIoUMetric', 'hungarian_match', 'majority_match']
