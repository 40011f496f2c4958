# SimSiam's schedule at batch 512 (16 GPUs x 32): SGD, lr 0.05 x 512 / 256 =
# 0.1, momentum 0.9, weight decay 1e-4, fixed predictor lr (fix_lr and
# SimSiamHook), cosine over 200 epochs.
_base_ = 'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py'

lr = 0.05 * 512 / 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
]

# lr above is for 16 x 32; `--auto-scale-lr` rescales for other batch sizes.
auto_scale_lr = dict(base_batch_size=512)
