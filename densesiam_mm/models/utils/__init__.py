# Copyright (c) densesiam_mm contributors. All rights reserved.
from .autocast import autocast_off
from .geometry import (Correspondence, check_grid_size, dense_correspondence,
                       dense_view_points, grid_points, intersection_boxes,
                       points_to_view_grid, sample_at_grid,
                       view_correspondence)
from .kmeans import spherical_kmeans
from .loss_weight import check_loss_weight
from .relative_position import (absolute_position_code, relative_position_code,
                                relative_position_code_from_samples,
                                sincos_position_code, view_patch_positions)
from .sync_bn import count_sync_bn, revert_sync_bn_if_not_distributed
from .token_batch_norm import TokenBatchNorm
from .view_alignment import AlignedViews, align_views
from .view_samples import (correspondence_from_samples,
                           dense_correspondence_from_samples,
                           host_view_geometry, stack_sample_field,
                           view_geometry_from_samples)

__all__ = [
    'count_sync_bn', 'revert_sync_bn_if_not_distributed', 'Correspondence',
    'check_grid_size', 'check_loss_weight', 'grid_points',
    'intersection_boxes', 'points_to_view_grid', 'sample_at_grid',
    'view_correspondence', 'dense_correspondence', 'dense_view_points',
    'correspondence_from_samples', 'dense_correspondence_from_samples',
    'host_view_geometry', 'stack_sample_field', 'view_geometry_from_samples',
    'AlignedViews', 'align_views', 'absolute_position_code',
    'relative_position_code', 'relative_position_code_from_samples',
    'sincos_position_code', 'view_patch_positions', 'TokenBatchNorm',
    'spherical_kmeans', 'autocast_off'
]
