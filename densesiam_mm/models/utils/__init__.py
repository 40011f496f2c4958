# Copyright (c) densesiam_mm contributors. All rights reserved.
from .geometry import (Correspondence, check_grid_size, grid_points,
                       intersection_boxes, points_to_view_grid, sample_at_grid,
                       correspondence_from_samples, view_correspondence)
from .geometry import (dense_correspondence,
                       dense_correspondence_from_samples, dense_view_points,
                       view_geometry_from_samples)
from .loss_weight import check_loss_weight
from .relative_position import (absolute_position_code,
                                relative_position_code,
                                relative_position_code_from_samples,
                                sincos_position_code, view_patch_positions)
from .token_batch_norm import TokenBatchNorm

__all__ = [
    'Correspondence', 'check_grid_size', 'check_loss_weight', 'grid_points', 'intersection_boxes',
    'points_to_view_grid', 'sample_at_grid', 'view_correspondence',
    'correspondence_from_samples', 'dense_correspondence',
    'dense_correspondence_from_samples', 'dense_view_points',
    'view_geometry_from_samples',
    'absolute_position_code', 'relative_position_code',
    'relative_position_code_from_samples', 'sincos_position_code',
    'view_patch_positions', 'TokenBatchNorm'
]
