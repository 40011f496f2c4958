# DenseSiam R50, ImageNet-1k, 200 epochs (paper Table 2 pre-training).
#
# | setting        | value                                       |
# | -------------- | ------------------------------------------- |
# | batch size     | 512 (16 GPUs x 32)                          |
# | optimizer      | SGD, lr 0.05 x 512 / 256 = 0.1, momentum 0.9 |
# | weight decay   | 1e-4                                        |
# | schedule       | cosine, 200 epochs                          |
# | K / l1 / l2    | 7 / 1 / 0.1, 512 channels in dense heads    |
_base_ = [
    '../_base_/models/densesiam_resnet50.py',
    '../_base_/datasets/imagenet_bs32_densesiam.py',
    '../_base_/schedules/sgd_coslr_200e_bs512.py',
    '../_base_/densesiam_runtime.py',
]

# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
