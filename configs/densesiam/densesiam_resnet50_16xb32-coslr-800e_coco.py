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
    '../_base_/schedules/sgd_coslr_800e_bs512.py',
    '../_base_/densesiam_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=50, max_keep_ckpts=3))
# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
