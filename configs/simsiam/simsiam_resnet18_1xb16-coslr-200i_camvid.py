# SimSiam R18 on CamVid train frames (labels unused), CPU sized: the baseline
# of densesiam_resnet18_1xb16-coslr-200i_camvid.py. Same data, two-view
# pipeline, batch, lr, schedule and seed; only the model differs (SimSiam is
# DenseSiam without PixSim and RegionSim), so the CamVid transfer comparison
# (tools/benchmarks/transfer_camvid.py) isolates the dense terms.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 160 px views   |
# | model        | SimSiam, ResNet-18, BN, projector 512, predictor 128 |
# | schedule     | 200 iterations, batch 16, SGD lr 0.05, cosine        |
_base_ = '../densesiam/densesiam_resnet18_1xb16-coslr-200i_camvid.py'

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

# no RegionSim here: only SimSiam's fixed predictor lr
custom_hooks = [
    dict(
        type='SimSiamHook',
        priority='HIGH',
        fix_pred_lr=True,
        lr={{_base_.lr}},
        # iteration-based loop: fix the predictor lr every iteration
        adjust_by_epoch=False),
]
