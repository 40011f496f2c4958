# DenseSiam, ResNet-50 (paper Sec. 3; Table 1/2 pre-training model).
#
# | part            | setting                                             |
# | --------------- | --------------------------------------------------- |
# | encoder         | ResNet-50, C5 (stride 32) dense map, no pooling     |
# | global branch   | SimSiam (simsiam_resnet50.py): 3-layer MLP projector|
# |                 | 2048, predictor 512                                 |
# | PixSim          | 1x1-conv projector 2048-512-512-512, predictor      |
# |                 | 512-128-512, D = negative cosine, K = 7, lambda1 = 1|
# | RegionSim       | 512 regions (PixSim projector channels), g' and h'  |
# |                 | MLPs of 512, InfoNCE T = 0.2, lambda2 = 0.1,        |
# |                 | on from half of training (RegionSimHook)            |
#
# Memory: RegionSim keeps (B x 512, 512) activations per layer and view;
# `--cfg-options model.region_sim_head.with_cp=True` recomputes them in
# backward (same loss and gradients; ResNet-50 at batch 8 on CPU: peak memory
# 1.058 -> 1.023 of SimSiam for +1 % step time, see docs/benchmarks.md).
_base_ = './simsiam_resnet50.py'

# SimSiam's encoder, projector and predictor (simsiam_resnet50.py) are the
# global branch; PixSim and RegionSim are added.
model = dict(
    type='DenseSiam',
    pix_sim_neck=dict(
        type='DenseNonLinearNeck',
        in_channels=2048,
        hid_channels=512,
        out_channels=512,
        num_layers=3,
        with_last_bn_affine=False),
    pix_sim_head=dict(
        type='PixSimHead',
        sample_order='proj_pred_sample',
        predictor=dict(
            type='DenseNonLinearNeck',
            in_channels=512,
            hid_channels=128,
            out_channels=512,
            num_layers=2,
            with_last_bn=False,
            with_last_bias=True),
        loss=dict(type='DenseSimilarityLoss', mode='cosine')),
    region_sim_head=dict(
        type='RegionSimHead',
        projector=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=512,
            out_channels=512,
            num_layers=2,
            with_avg_pool=False),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=512,
            hid_channels=128,
            out_channels=512,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True),
        loss=dict(type='RegionInfoNCELoss', temperature=0.2)),
    grid_size=7,
    dense_loss_weight=1.0,
    region_loss_weight=0.1)
