# DenseSiam R18 pre-training on the CamVid train frames (labels unused) at a
# real CPU budget: the DenseSiam row of
# tools/benchmarks/pretrain_probe_camvid.py
# (docs/dense_probe.md). Same model, views and lr as
# densesiam_resnet18_1xb16-coslr-200i_camvid.py; 128 px views and a longer
# schedule. Data root: $DENSESIAM_SHARED_DATA (default ../shared/data).
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 128 px views   |
# | views        | SimSiam/MoCo v2 augmentations, crop scale 0.2-1,     |
# |              | crop box and flip recorded                           |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0.1                |
# | RegionSim    | on from half of training                             |
# | schedule     | 300 iterations, batch 16, SGD lr 0.05, cosine        |
# | loader       | 0 workers: the whole run stays on one CPU thread     |
# | seed         | 0 (data order, views, init)                          |
_base_ = [
    '../_base_/models/densesiam_resnet18.py',
    '../_base_/datasets/camvid_bs16_densesiam-128px.py',
    '../_base_/schedules/sgd_coslr_300i.py',
    '../_base_/densesiam_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(
        by_epoch=False, interval=50, max_keep_ckpts=2, save_last=True))
# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
