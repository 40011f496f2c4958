# CPU-sized FCN-D8 R50: the Cityscapes benchmark config
# (../cityscapes/fcn_resnet50-d8-syncbn_8xb2-40k_cityscapes-769x769.py) on
# $DENSESIAM_SHARED_DATA/camvid (street scenes, 11 classes, label 11 =
# unlabelled -> ignored by densesiam_mm's CamVidDataset) as a small stand-in
# for Cityscapes, to prove the transfer path without GPUs. Not a benchmark.
#
# | setting        | value (benchmark value)                               |
# | -------------- | ----------------------------------------------------- |
# | data           | CamVid train (367) -> first val frame                 |
# |                | (Cityscapes train -> val, 500 images)                 |
# | classes        | 11 (19)                                               |
# | crop / test    | 128x128 crops of 0.5-2.0 x 240x180; test at 240x180   |
# |                | whole image (769x769 crops; slide test)               |
# | normalisation  | BN (SyncBN)                                           |
# | schedule       | 1 iteration, batch 2 (40k iterations, batch 16)       |
#
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# (a ResNet-50 DenseSiam checkpoint).
_base_ = '../cityscapes/fcn_resnet50-d8-syncbn_8xb2-40k_cityscapes-769x769.py'

data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
crop_size = (128, 128)
image_scale = (240, 180)
num_classes = 11
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(_delete_=True, mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='CamVidDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='images/train', seg_map_path='labels/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='CamVidDataset',
        data_root=data_root,
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        indices=1,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 1
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=max_iters))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
