# CPU-sized Mask R-CNN R50-FPN: the COCO benchmark config
# (mask-rcnn_resnet50-syncbn_fpn_8xb2-1x_coco.py) on
# $DENSESIAM_SHARED_DATA/tiny_coco (50 + 50 real COCO images with masks),
# to prove the transfer path without GPUs. Not a benchmark: numbers from it
# mean nothing.
#
# | setting        | value (benchmark value)                               |
# | -------------- | ----------------------------------------------------- |
# | data           | tiny_coco train2017 -> first val2017 image            |
# |                | (COCO train2017 -> val2017)                           |
# | image size     | 320x192 (1333x800)                                    |
# | normalisation  | BN, trained (SyncBN)                                  |
# | schedule       | 1 iteration, batch 2, lr 0.0025 (12 epochs, batch 16, |
# |                | lr 0.02); 1 validation iteration                      |
# | RoI sampling   | 64 RoIs, 100 proposals (512, 1000)                    |
# | test score     | threshold 0 so an untrained head still gives boxes    |
# |                | and COCO AP is computed (0.05)                        |
#
# Pre-trained weights: pass a ResNet-50 DenseSiam checkpoint with
# --cfg-options model.backbone.init_cfg.checkpoint=CKPT (see
# docs/transfer.md for a 2-iteration CPU pre-training that makes one).
_base_ = './mask-rcnn_resnet50-syncbn_fpn_8xb2-1x_coco.py'

data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/tiny_coco/'
image_scale = (320, 192)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(score_thr=0.0, max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, indices=1, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_iters = 1
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.0025))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
