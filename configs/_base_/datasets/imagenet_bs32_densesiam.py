# Two views with geometry: SimSiam's augmentations (mmpretrain's MoCo v2
# pipeline) with a crop that records its box and a flip that is recorded.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'

view_pipeline = [
    dict(
        type='RandomResizedCropWithBox',
        scale=224,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]

train_pipeline = [
    # color_type='color': grayscale images become 3-channel, RGBA drops alpha;
    # an unreadable image raises naming the file (on_unreadable='skip' skips
    # it with a counted warning).
    dict(type='CheckedLoadImageFromFile', color_type='color'),
    dict(
        type='MultiViewWithGeometry', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]

# `_delete_` drops the `_scope_` key that package-scope inheritance adds to
# collate_fn, which mmengine would otherwise pass to default_collate.
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
