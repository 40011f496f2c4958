# SimSiam baseline for DenseSiam's ImageNet setting: mmpretrain's own SimSiam
# config with the same batch (512) and lr (0.1) as
# densesiam_resnet50_16xb32-coslr-200e_in1k.py, so both run side by side.
_base_ = 'mmpretrain::simsiam/simsiam_resnet50_8xb32-coslr-200e_in1k.py'

lr = 0.05 * 512 / 256
optim_wrapper = dict(optimizer=dict(lr=lr))
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr)
]
# drop the `_scope_` that package-scope inheritance adds to collate_fn
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'))
auto_scale_lr = dict(base_batch_size=512)
