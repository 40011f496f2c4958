# SimSiam R18 on the CamVid train frames: the baseline of
# ../densesiam/densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py with the
# same data, two-view pipeline (128 px), batch, lr, schedule and seed; only
# the model differs (SimSiam = DenseSiam without PixSim and RegionSim). The
# model is that of simsiam_resnet18_1xb16-coslr-200i_camvid.py.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | model        | SimSiam, ResNet-18, BN, projector 512, predictor 128 |
# | rest         | as densesiam_resnet18_1xb16-coslr-300i_camvid-128x128 |
_base_ = '../densesiam/densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py'

model = dict(
    _delete_=True,
    type='SimSiam',
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=512,
        out_channels=512,
        num_layers=3,
        with_last_bn_affine=False,
        with_avg_pool=True,
        norm_cfg=dict(type='BN1d')),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=512,
            hid_channels=128,
            out_channels=512,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=dict(type='BN1d'))))

# no RegionSim: only SimSiam's fixed predictor lr
custom_hooks = [
    dict(
        type='SimSiamHook',
        priority='HIGH',
        fix_pred_lr=True,
        lr={{_base_.lr}},
        adjust_by_epoch=False),
]
