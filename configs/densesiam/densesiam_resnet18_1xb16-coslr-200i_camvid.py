# DenseSiam R18 pre-training on CamVid train frames (labels unused), CPU
# sized: the pre-training checkpoint that the CamVid transfer and
# segmentation experiments start from. Data root: $DENSESIAM_SHARED_DATA
# (default ../shared/data), see ../shared/data/README.md.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 160 px views   |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0.1                |
# | schedule     | 200 iterations, batch 16, SGD lr 0.05, cosine        |
_base_ = './densesiam_resnet18_1xb8-coslr-60i_demo.py'

max_iters = 200
crop_size = 160
data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'

view_pipeline = [
    dict(
        type='RandomResizedCropWithBox',
        scale=crop_size,
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
    dict(type='CheckedLoadImageFromFile', color_type='color'),
    dict(
        type='MultiViewWithGeometry', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        data_root=data_root,
        data_prefix='images/train',
        pipeline=train_pipeline))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=50))
