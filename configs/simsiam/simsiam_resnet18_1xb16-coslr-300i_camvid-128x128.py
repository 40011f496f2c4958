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
_base_ = [
    '../_base_/models/simsiam_resnet18.py',
    '../_base_/datasets/camvid_bs16_densesiam-128px.py',
    '../_base_/schedules/sgd_coslr_300i.py',  # with SimSiamHook
    '../_base_/densesiam_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(
        by_epoch=False, interval=50, max_keep_ckpts=2, save_last=True))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
