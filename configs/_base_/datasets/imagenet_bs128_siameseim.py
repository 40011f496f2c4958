# ImageNet-1k for SiameseIM: two asymmetric views with geometry (crop box and
# flip recorded), 224 px, scale (0.08, 1), bicubic, h-flip; ColorJitter(0.4,
# 0.4, 0.2, 0.1) p 0.8, grey 0.2; view 1: blur p 1.0; view 2: blur p 0.1,
# solarize p 0.2. View 1 is masked with BEiT blocks (min 16), exactly 118 of
# the 14 x 14 patches.
grid_size = 14  # 224 / 16
crop_size = 224
color_jitter = dict(
    type='RandomApply',
    transforms=[
        dict(
            type='ColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.2,
            hue=0.1)
    ],
    prob=0.8)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))
spatial = [
    dict(
        type='RandomResizedCropWithBox',
        scale=crop_size,
        crop_ratio_range=(0.08, 1.),
        interpolation='bicubic',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
view1_pipeline = spatial + [
    color_jitter,
    grayscale,
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
view2_pipeline = spatial + [
    color_jitter,
    grayscale,
    dict(view1_pipeline[-1], prob=0.1),  # GaussianBlur
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiViewWithGeometry',
        num_views=[1, 1],
        transforms=[view1_pipeline, view2_pipeline]),
    dict(
        type='ExactCountBlockMask',
        input_size=grid_size,
        num_masking_patches=118,
        min_num_patches=16),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet/',
        split='train',
        pipeline=train_pipeline))
