# CPU-sized Faster R-CNN R50-C4: the VOC benchmark model
# (faster-rcnn_resnet50-syncbn-c4_8xb2-24k_voc0712.py) on
# $DENSESIAM_SHARED_DATA/tiny_coco in COCO format (80 classes), to prove
# the C4 transfer path (backbone stages 1-3 + res5 shared head) without
# GPUs. Not a benchmark: numbers from it mean nothing.
#
# | setting        | value (benchmark value)                               |
# | -------------- | ----------------------------------------------------- |
# | data           | tiny_coco train2017 -> first val2017 image, COCO AP50 |
# |                | AP AP75 (VOC07+12 trainval -> VOC07 test, VOC AP)     |
# | classes        | 80 (20)                                               |
# | image size     | 320x192 (480-800 short side)                          |
# | normalisation  | BN, trained (SyncBN)                                  |
# | schedule       | 1 iteration, batch 2, lr 0.0025 (24k, batch 16, 0.02) |
# | RoI sampling   | 32 RoIs, 50 proposals (512, 2000)                     |
# | test score     | threshold 0 (0.05), so COCO AP is always computed     |
#
# Pre-trained weights: set both model.backbone.init_cfg.checkpoint and
# model.roi_head.shared_head.init_cfg.checkpoint to a ResNet-50 checkpoint.
_base_ = './faster-rcnn_resnet50-syncbn-c4_8xb2-24k_voc0712.py'

data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/tiny_coco/'
image_scale = (320, 192)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        shared_head=dict(norm_cfg=norm_cfg),
        bbox_head=dict(num_classes=80)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=50),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=50),
        rcnn=dict(score_thr=0.0, max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        indices=1,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox')
test_evaluator = val_evaluator

max_iters = 1
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.0025))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=max_iters))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
