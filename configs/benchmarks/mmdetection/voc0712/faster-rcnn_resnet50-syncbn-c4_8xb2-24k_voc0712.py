# Faster R-CNN R50-C4 on VOC07+12 trainval, 24k iterations, tested on
# VOC2007 test, fine-tuned from DenseSiam pre-training (paper Table 2, VOC
# detection column; the MoCo/DenseCL VOC protocol). Only the deltas to
# mmdet's own faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py.
#
# | setting        | value                                                 |
# | -------------- | ----------------------------------------------------- |
# | pre-training   | DenseSiam R50, ImageNet-1k, 200 epochs                |
# | detector       | Faster R-CNN, ResNet-50 C4: stages 1-3 in the         |
# |                | backbone, stage 4 (res5) as the RoI shared head       |
# | style          | pytorch (stride on 3x3), RGB input with ImageNet      |
# |                | mean/std, as in pre-training (not mmdet's caffe stem) |
# | normalisation  | SyncBN in backbone and res5 head, all layers trained  |
# | schedule       | 24k iterations, batch 16 (8 GPUs x 2), SGD lr 0.02,   |
# |                | warm-up 100 iterations, steps at 18k and 22k          |
# | data           | VOC2007+2012 trainval, multi-scale short side         |
# |                | 480-800 (step 32), flip; test VOC2007 test at 800     |
# | metrics        | AP50, AP (mean over IoU .50:.05:.95), AP75; VOC07     |
# |                | 11-point AP as in the MoCo/detectron2 protocol        |
# | trials         | 5 seeds, mean +- std                                  |
# | paper          | DenseSiam AP50 82.9 (Table 2)                         |
#
# Not reproduced: MoCo's detectron2 setting adds an extra BN after res5
# (Res5ROIHeadsExtraNorm); mmdet's shipped C4 RoI head has none, so this
# config uses mmdet's head unchanged.
#
# Weights: both the backbone (stages 1-3) and the shared head (res5) read
# the full pre-training checkpoint with prefix 'backbone.'; each takes its
# own keys (conv1..layer3 / layer4), so together they consume every
# backbone tensor. For an extracted backbone file set both
# model.backbone.init_cfg and model.roi_head.shared_head.init_cfg to
# checkpoint=OUT.pth, prefix=None (the scripts do this).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

pretrained = 'work_dirs/densesiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    roi_head=dict(
        shared_head=dict(
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            init_cfg=dict(
                type='Pretrained', checkpoint=pretrained,
                prefix='backbone.'))))

max_iters = 24000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=6000))

# AP50, AP75 and their mean over IoU 0.50:0.95 ("pascal_voc/mAP")
val_evaluator = dict(
    type='VOCMetric',
    metric='mAP',
    eval_mode='11points',
    iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator

randomness = dict(seed=0)
