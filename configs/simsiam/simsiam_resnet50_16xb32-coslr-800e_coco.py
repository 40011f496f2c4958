# SimSiam baseline for DenseSiam's COCO 800-epoch setting (same data,
# batch, lr and schedule as densesiam_resnet50_16xb32-coslr-800e_coco.py).
_base_ = './simsiam_resnet50_16xb32-coslr-200e_in1k.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/coco/',
        data_prefix='train2017',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=50, max_keep_ckpts=3))
