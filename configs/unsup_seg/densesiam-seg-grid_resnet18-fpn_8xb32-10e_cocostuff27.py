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
_base_ = './densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py'

crop_size = 320
num_classes = 27
model = dict(
    projector=dict(num_layers=2, with_last_bias=False),
    aux_projector=dict(num_layers=2, with_last_bias=False),
    pseudo_label_loss=dict(rebalance='inverse'),
    region_sim_head=dict(
        stop_grad=True,
        projector=dict(hid_channels=256, num_layers=2),
        predictor=dict(hid_channels=64),
        loss=dict(temperature=0.2)),
    correspondence='grid',
    pseudo_label='cross_view',
    grid_size=16,
    pseudo_loss_weight=None)  # = l1

view_pipeline = [
    dict(
        type='RandomResizedCropWithBox',
        scale=crop_size,
        crop_ratio_range=(0.5, 1.),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='mmpretrain.ColorJitter',
                brightness=0.3,
                contrast=0.3,
                saturation=0.3,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='mmpretrain.GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=crop_size, max_size=10000),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='MultiViewWithGeometry', num_views=2, transforms=[view_pipeline]),
    dict(type='PackMultiViewSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedSegAnnotations'),
    dict(type='ResizeShortestEdge', scale=crop_size, max_size=10000),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = []  # RegionSim on from the first iteration
