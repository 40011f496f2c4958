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
_base_ = [
    '../_base_/models/simsiam_resnet18.py',
    '../_base_/datasets/camvid_bs16_densesiam.py',  # two 160 px views
    '../_base_/schedules/sgd_coslr_200i.py',  # with SimSiamHook
    '../_base_/densesiam_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=50))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
