# DenseSiam R18 pre-training on CamVid train frames (labels unused), CPU
# sized: the pre-training checkpoint that the CamVid transfer and
# segmentation experiments start from. Data root: $DENSESIAM_SHARED_DATA
# (default ../shared/data), see ../shared/data/README.md.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 160 px views   |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0.1                |
# | schedule     | 200 iterations, batch 16, SGD lr 0.05, cosine        |
_base_ = [
    '../_base_/models/densesiam_resnet18.py',
    '../_base_/datasets/camvid_bs16_densesiam.py',  # two 160 px views
    '../_base_/schedules/sgd_coslr_200i.py',
    '../_base_/densesiam_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=50))
# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
