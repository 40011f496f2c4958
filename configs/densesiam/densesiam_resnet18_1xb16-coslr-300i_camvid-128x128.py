# DenseSiam R18 pre-training on the CamVid train frames (labels unused) at a
# real CPU budget: the DenseSiam row of tools/benchmarks/pretrain_probe_camvid.py
# (docs/dense_probe.md). Same model, views and lr as
# densesiam_resnet18_1xb16-coslr-200i_camvid.py; 128 px views and a longer
# schedule. Data root: $DENSESIAM_SHARED_DATA (default ../shared/data).
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 128 px views   |
# | views        | SimSiam/MoCo v2 augmentations, crop scale 0.2-1,     |
# |              | crop box and flip recorded                           |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0.1                |
# | RegionSim    | on from half of training                             |
# | schedule     | 300 iterations, batch 16, SGD lr 0.05, cosine        |
# | loader       | 0 workers: the whole run stays on one CPU thread     |
# | seed         | 0 (data order, views, init)                          |
_base_ = './densesiam_resnet18_1xb16-coslr-200i_camvid.py'

max_iters = 300
crop_size = 128

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
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))

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
    logger=dict(interval=20),
    checkpoint=dict(interval=50, max_keep_ckpts=2, save_last=True))
randomness = dict(seed=0)
