# SimSiam, ResNet-50 (Chen & He, CVPR 2021; mmpretrain's SimSiam model): the
# baseline of DenseSiam, and DenseSiam's global branch.
#
# | part       | setting                                                  |
# | ---------- | -------------------------------------------------------- |
# | encoder    | ResNet-50, SyncBN, zero-initialised last BN of each block|
# | projector  | 3-layer MLP 2048-2048-2048, last BN without affine       |
# | predictor  | 2-layer MLP 2048-512-2048, D = negative cosine           |
model = dict(
    type='SimSiam',
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=2048,
        num_layers=3,
        with_last_bn_affine=False,
        with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=512,
            out_channels=2048,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True)))
