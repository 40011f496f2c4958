# SiameseIM (Tao et al., CVPR 2023) ViT-B/16 pre-training on ImageNet-1k,
# the authors' recipe (configs/pretrain/dist_sim_base_1600ep.sh of their
# release and the paper's settings table).
#
# | setting        | value                                                   |
# | -------------- | ------------------------------------------------------- |
# | views          | 2 x RandomResizedCrop 224, scale (0.08, 1), bicubic,    |
# |                | h-flip; ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8, gray 0.2 |
# |                | view 1: blur p 1.0; view 2: blur p 0.1, solarize p 0.2  |
# | mask           | view 1, BEiT blocks (min 16), exactly 118 of 196        |
# | online encoder | ViT-B/16, fixed sin-cos pos., frozen patch embedding,   |
# |                | no final norm, 1 + 78 visible tokens                    |
# | projector      | Linear 768 -> 768 + 2 blocks (16 heads), token SyncBN   |
# | predictor      | 4 blocks (16 heads), token SyncBN, Linear 768 -> 768;   |
# |                | queries: mask token + Linear(relative pos./scale code)  |
# | target         | EMA of encoder + projector, 0.995 -> 1 (cosine), view 2 |
# |                | all 196 tokens, LayerNorm without affine                |
# | loss           | UniGrad, negative weight 0.02, fp32                     |
# | optimizer      | AdamW (0.9, 0.95), lr 6.25e-5 x 4096/256 = 1e-3,        |
# |                | wd 0.05 (none on biases and norms), grad clip 1.0, fp16 |
# | schedule       | 1600 epochs, 40 warm-up epochs + cosine, batch 4096     |
#
# Launch: tools/dist_train.sh CONFIG 8 on 4 nodes (32 GPUs x 128 images);
# other GPU counts: --auto-scale-lr keeps lr = 6.25e-5 x batch / 256.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)

# ------------------------------------------------------------------- model
embed_dims = 768
grid_size = 14  # 224 / 16
token_norm = dict(type='TokenBN', sync_bn=True)
model = dict(
    type='SiameseIM',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='SiameseIMViT',
        arch='b',
        img_size=224,
        patch_size=16,
        final_norm=False,
        out_type='raw',
        frozen_patch_embed=True),
    neck=dict(
        type='SiameseIMProjector',
        in_channels=embed_dims,
        embed_dims=embed_dims,
        num_layers=2,
        num_heads=16,
        norm_cfg=token_norm),
    head=dict(
        type='SiameseIMHead',
        embed_dims=embed_dims,
        num_layers=4,
        num_heads=16,
        norm_cfg=token_norm,
        loss=dict(type='UniGradLoss', neg_weight=0.02)),
    target_momentum=0.005,  # EMA keeps 0.995 of the target at the start
    target_end_momentum=0.,  # ... and 1 at the end (cosine)
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

# -------------------------------------------------------------------- data
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
    color_jitter, grayscale,
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
view2_pipeline = spatial + [
    color_jitter, grayscale,
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.1),
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

# ---------------------------------------------------------------- schedule
max_epochs = 1600
warmup_epochs = 40
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW',
        lr=6.25e-5 * 4096 / 256,
        betas=(0.9, 0.95),
        weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    # Frozen parameters (patch embedding, position table, EMA target) are
    # left out of the optimizer; no weight decay on 1-D parameters (biases,
    # norms), as the authors' timm parameter groups.
    constructor='TrainableParamsOptimWrapperConstructor',
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=4096)

# ----------------------------------------------------------------- runtime
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3),
    nan_guard=dict(type='NaNGuardHook', action='raise', max_skips=10))
randomness = dict(seed=0, diff_rank_seed=True)
