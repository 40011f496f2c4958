# sgd_coslr_60i.py over 200 iterations.
_base_ = './sgd_coslr_60i.py'

max_iters = 200
param_scheduler = [
    dict(
        type='CosineAnnealingLR', T_max=200, by_epoch=False, begin=0, end=200)
]
train_cfg = dict(max_iters=max_iters)
