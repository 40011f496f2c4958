# DenseSiam R18 pre-training on your own folder of images (CPU sized): every
# image under `data_root`, in sub-folders too, with a .jpg, .jpeg, .png,
# .ppm, .bmp, .pgm or .tif suffix (any letter case); unreadable files are
# skipped with a counted warning. Give the folder once (`--data-root` sets
# train_dataloader.dataset.data_root):
#
#   python tools/train.py \
#     configs/densesiam/densesiam_resnet18_1xb8-coslr-200i_image-folder.py \
#     --data-root /path/to/images --work-dir work_dirs/my_pretrain
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | `data_root` (default data/images/), two 128 px views |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0.1                |
# | schedule     | 200 iterations, batch 8, SGD lr 0.05, cosine         |
# | RegionSim    | on from iteration 101 (half of training)             |
# | checkpoints  | every 50 iterations (3 kept), resumable with --resume|
#
# Longer: `train_cfg.max_iters=N param_scheduler.0.T_max=N
# param_scheduler.0.end=N`. GPU and ResNet-50:
# densesiam_resnet50_1xb64-coslr-100e_image-folder.py.
_base_ = [
    '../_base_/models/densesiam_resnet18.py',
    '../_base_/datasets/image-folder_bs8_densesiam.py',  # 128 px views
    '../_base_/schedules/sgd_coslr_200i.py',
    '../_base_/densesiam_runtime.py',
]

data_root = 'data/images/'
train_pipeline = _base_.train_pipeline
train_pipeline[0].on_unreadable = 'skip'  # CheckedLoadImageFromFile
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=50, max_keep_ckpts=3))
# SimSiamHook (fixed predictor lr) from the schedule; RegionSim joins at half
# of training (paper).
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='RegionSimHook', start_ratio=0.5)
]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
