# Iteration-based cosine schedule for small (CPU) runs: SimSiam's SGD with a
# fixed predictor lr (fix_lr + SimSiamHook).
max_iters = 60
lr = 0.05
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
log_processor = dict(by_epoch=False)
custom_hooks = [
    # adjust_by_epoch=False: an iteration-based loop has one "epoch", so the
    # predictor lr must be fixed every iteration (also after a resume).
    dict(
        type='SimSiamHook',
        priority='HIGH',
        fix_pred_lr=True,
        lr=lr,
        adjust_by_epoch=False),
]
