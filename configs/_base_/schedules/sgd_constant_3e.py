# sgd_constant_10e.py shortened for CPU runs: 3 epochs, validated and saved
# once, at the end.
_base_ = './sgd_constant_10e.py'

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, save_best=None, max_keep_ckpts=1))
