# DenseSiam R50, COCO train2017 (118k images, no labels), 800 epochs: the
# paper's ablation set-up (Sec. 5.3), fine-tuned with Mask R-CNN afterwards.
#
# | setting        | value                                       |
# | -------------- | ------------------------------------------- |
# | batch size     | 512 (16 GPUs x 32)                          |
# | optimizer      | SGD, lr 0.1, momentum 0.9, wd 1e-4          |
# | schedule       | cosine, 800 epochs                          |
# | K / l1 / l2    | 7 / 1 / 0.1                                 |
_base_ = [
    '../_base_/models/densesiam_resnet50.py',
    '../_base_/datasets/coco_bs32_densesiam.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/densesiam_runtime.py',
]

lr = 0.05 * 512 / 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=50, max_keep_ckpts=3))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='RegionSimHook', start_ratio=0.5),
]
auto_scale_lr = dict(base_batch_size=512)
