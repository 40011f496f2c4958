# SiameseIM CPU demo: the paper's recipe at toy scale on the CamVid train
# frames (labels unused), a few minutes on 2 CPU cores. Data root:
# $DENSESIAM_SHARED_DATA (default ../shared/data), ../shared/data/README.md.
#
# | setting        | paper (ViT-B/16, 224 px)  | this demo                    |
# | -------------- | ------------------------- | ---------------------------- |
# | views          | 224 px, scale (0.08, 1)   | 64 px, same augmentations    |
# | patch grid     | 14 x 14, 118 masked (60%) | 8 x 8 (patch 8), 38 masked   |
# | mask blocks    | min 16 patches            | min 4 patches                |
# | encoder        | ViT-B: 768, 12 layers     | 192 wide, 4 layers, 3 heads  |
# | projector      | 2 blocks, token BN        | 2 blocks, token BN (BN1d)    |
# | predictor      | 4 blocks, token BN        | 4 blocks, token BN (BN1d)    |
# | schedule       | 1600 ep, batch 4096, 1e-3 | 200 iterations, batch 32,    |
# |                |                           | lr 1e-3, 20 warm-up, cosine  |
# | EMA / loss     | 0.995 -> 1, UniGrad 0.02  | same (cosine over 200 iters) |
# | precision      | fp16                      | fp32 (CPU)                   |
# | checkpoints    |                           | every 100 iters, --resume    |
_base_ = './siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py'

crop_size = 64
patch_size = 8
grid_size = crop_size // patch_size
embed_dims = 192
token_norm = dict(type='TokenBN', sync_bn=False)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=embed_dims,
            num_layers=4,
            num_heads=3,
            feedforward_channels=4 * embed_dims),
        img_size=crop_size,
        patch_size=patch_size),
    neck=dict(
        in_channels=embed_dims,
        embed_dims=embed_dims,
        num_heads=3,
        norm_cfg=token_norm),
    head=dict(embed_dims=embed_dims, num_heads=3, norm_cfg=token_norm))

data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
train_pipeline = _base_.train_pipeline
train_pipeline[0] = dict(type='CheckedLoadImageFromFile', color_type='color')
view1_pipeline, view2_pipeline = train_pipeline[1].transforms
view1_pipeline[0].scale = view2_pipeline[0].scale = crop_size
spatial = view1_pipeline[:2]  # RandomResizedCropWithBox, RandomFlip
train_pipeline[2].update(
    input_size=grid_size, num_masking_patches=38, min_num_patches=4)
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='images/train',
        with_label=False,
        pipeline=train_pipeline))

max_iters = 200
warmup_iters = 20
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    constructor='TrainableParamsOptimWrapperConstructor',
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min=0.,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=32)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=100, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
