# Dense linear probe of a frozen ResNet-18 on CamVid (mmseg): the features
# of one stage (C5 by default) of a frozen pre-trained backbone, BN and a
# 1x1 classifier trained on the 367 labelled train frames; mIoU of the 101
# val frames with mmseg's IoUMetric. Backbone features of each frame are
# computed once (DenseFeatureCacheHook, progress bar) and cached, so the
# probe trains at the cost of its head. `tools/analysis/dense_probe.py`
# runs it (and the clustering probe) for any checkpoint.
#
# | setting        | value                                               |
# | -------------- | --------------------------------------------------- |
# | data           | CamVid train (367) -> val (101), 11 classes,        |
# |                | label 11 ignored                                    |
# | input          | whole frame resized to 320x240, no augmentation     |
# |                | (a deterministic pipeline: features are cacheable)  |
# | backbone       | ResNet-18 (plain stem, BN in eval mode), frozen:    |
# |                | requires_grad=False, no_grad, weights unchanged     |
# | probed features| C5 (layer4, stride 32, 512 ch); in_index=(1, 2, 3)   |
# |                | and in_channels=(128, 256, 512) concatenate C3-C5   |
# |                | at stride 8                                         |
# | head           | BN (no affine change of the linear model class) +   |
# |                | 1x1 conv, logits upsampled to the label, CE         |
# | schedule       | 200 iterations, batch 16 (9 epochs), SGD lr 0.1,    |
# |                | momentum 0.9, no weight decay, poly                 |
# | metric         | mIoU over the 11 classes, val, at 480x360           |
# | init           | --cfg-options model.backbone.init_cfg.checkpoint=CKPT|
# |                | (a backbone-only file; dense_probe.py writes one    |
# |                | from any checkpoint)                                |
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
image_scale = (320, 240)
num_classes = 11
max_iters = 200
backbone_checkpoint = None  # a backbone-only checkpoint (no prefix)

model = dict(
    type='LinearProbe',
    cache_features=True,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(240, 320)),  # (H, W) of the resized frames: no padding
    backbone=dict(
        type='ResNet',
        depth=18,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN'),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint=backbone_checkpoint)),
    decode_head=dict(
        type='LinearProbeHead',
        in_channels=512,
        in_index=3,
        num_classes=num_classes,
        norm_cfg=dict(type='BN'),
        loss_label_stride=4,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedSegAnnotations'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadCheckedSegAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CamVidDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='images/train', seg_map_path='labels/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CamVidDataset',
        data_root=data_root,
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        save_last=False),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [
    dict(type='DenseFeatureCacheHook'),
    dict(type='PretrainedCheckHook')
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
