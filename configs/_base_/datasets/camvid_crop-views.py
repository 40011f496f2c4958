# CamVid for unsupervised segmentation on a CPU with this project's earlier
# views (those of cocostuff27_crop-views.py; COCO-Stuff-27 values in
# brackets): short side 120 (320), two 96 px (320) views of 30-100 %
# (50-100 %) area + flip + colour + grey + blur; evaluation on the whole val
# frames at short side 120. Frames and loaders as camvid_nested-views.py.
_base_ = './camvid_nested-views.py'

short_side = 120
view_pipeline = [
    dict(
        type='RandomResizedCropWithBox',
        scale=96,
        crop_ratio_range=(0.3, 1.),
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
    dict(type='ResizeShortestEdge', scale=short_side, max_size=1000),
    dict(
        type='MultiViewWithGeometry', num_views=2, transforms=[view_pipeline]),
    dict(type='PackMultiViewSegInputs'),
]
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = short_side  # ResizeShortestEdge
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
