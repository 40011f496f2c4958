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
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/densesiam_runtime.py',
]

lr = 0.05 * 512 / 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='RegionSimHook', start_ratio=0.5),
]

# lr above is for 16 x 32; `--auto-scale-lr` rescales for other batch sizes.
auto_scale_lr = dict(base_batch_size=512)
