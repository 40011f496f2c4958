# Curated COCO-Stuff-27 with this project's earlier views (the grid variants
# of DenseSiam-Seg and PiCIE): short side 320, random crop 320, two random
# resized crops of 50-100 % area at 320, flip, colour, grey, blur; evaluation
# with cv2 resize + floor-based centre crop. Data as
# cocostuff27_nested-views.py.
_base_ = './cocostuff27_nested-views.py'

crop_size = 320
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
    *_base_.photometric_pipeline[-2:],  # grey (p 0.2) and blur (p 0.5)
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
