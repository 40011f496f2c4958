# sgd_coslr_200e_bs512.py over 800 epochs.
_base_ = './sgd_coslr_200e_bs512.py'

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
