# The embedded default: DenseSiam R18 pre-training on the nine demo photos
# shipped in data/demo/ (no download), on CPU in a few minutes.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | data/demo (9 real images, found from the installed   |
# |              | package: works from any directory), two 128 px views |
# | model        | ResNet-18, BN (not SyncBN), K = 7, l1 = 1, l2 = 0.1   |
# | schedule     | 60 iterations, batch 8, SGD lr 0.05, cosine          |
# | RegionSim    | on from iteration 31 (half of training)              |
# | checkpoints  | every 20 iterations, resumable with --resume         |
_base_ = [
    '../_base_/models/densesiam_resnet18.py',
    '../_base_/datasets/image-folder_bs8_densesiam.py',  # 128 px views
    '../_base_/schedules/sgd_coslr_60i.py',
    '../_base_/densesiam_runtime.py',
]

# The shipped photos, located through the package (not the working
# directory), so `mim train densesiam_mm <this config>` works anywhere.
from densesiam_mm.datasets.demo_data import demo_data_root  # noqa: E402

train_dataloader = dict(dataset=dict(data_root=demo_data_root()))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=20, max_keep_ckpts=3))
# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
