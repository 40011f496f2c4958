# DenseSiam-Seg, this project's earlier variant (named option; the paper
# config densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py follows the
# authors' code). Only the differences are listed; docs/unsup_seg.md says
# why each one was kept as an option.
#
# | setting        | this variant (authors' code in brackets)               |
# | -------------- | ------------------------------------------------------ |
# | projector g    | 2 layers 128-128-N (3 layers)                          |
# | correspondence | K x K = 16 x 16 points in the views' intersection      |
# |                | (every 80 x 80 cell of the nested view)                |
# | L_seg          | cross view, on the predictor p at the points, weights  |
# |                | 1 / n_c (every class weighs the same), scaled by l1    |
# |                | (same view on z, n_c / n, weight 1)                    |
# | RegionSim      | T = 0.2, stop-gradient targets, g' 128-256-128,        |
# |                | h' 128-64-128, on from the first iteration             |
# |                | (T = 0.1, no stop-gradient, 3-layer g', last 20 %)     |
# | views          | short side 320, random crop 320, two random resized    |
# |                | crops of 50-100 % area at 320 (nested square crops)    |
# |                | (this variant used to start from short side 640, i.e. |
# |                | train at 2-2.8x the evaluation scale: fixed)           |
# | evaluation     | cv2 resize + floor-based centre crop (PIL + round)     |
_base_ = [
    '../_base_/models/densesiam-seg-grid_resnet18-fpn.py',
    '../_base_/datasets/cocostuff27_crop-views.py',
    '../_base_/schedules/sgd_constant_10e.py',
    '../_base_/unsup_seg_runtime.py',
]

custom_hooks = []  # RegionSim on from the first iteration
