# DenseCL R18 pre-training on the CamVid train frames (labels unused), with
# the data, views, batch, optimizer, schedule and seed of the DenseSiam and
# SimSiam CamVid configs (densesiam_resnet18_1xb16-coslr-300i_camvid-
# 128x128.py): only the method differs. The DenseCL row of
# tools/benchmarks/dense_curves_camvid.py (docs/dense_probe.md).
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | CamVid train, 367 frames 480x360, two 128 px views   |
# | views        | SimSiam/MoCo v2 augmentations, crop scale 0.2-1      |
# | model        | mmpretrain DenseCL, ResNet-18, queue 256             |
# | schedule     | 300 iterations, batch 16, SGD lr 0.05, cosine,       |
# |              | wd 1e-4 (as SimSiam/DenseSiam here; no predictor)    |
# | seed         | 0 (data order, views, init)                          |
_base_ = [
    '../_base_/models/densecl_resnet18.py',
    '../_base_/datasets/camvid_bs16_densesiam-128px.py',
    '../_base_/schedules/sgd_coslr_300i.py',
    '../_base_/densesiam_runtime.py',
]

# DenseCL has no predictor: plain SGD for every parameter, no SimSiamHook.
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.05, weight_decay=1e-4,
                                    momentum=0.9))
custom_hooks = []
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(
        by_epoch=False, interval=50, max_keep_ckpts=2, save_last=True))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
