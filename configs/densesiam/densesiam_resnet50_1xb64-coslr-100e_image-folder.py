# DenseSiam R50 pre-training on your own folder of images, for one GPU (the
# paper's model and augmentations at 224 px): every image under `data_root`,
# in sub-folders too, with a .jpg, .jpeg, .png, .ppm, .bmp, .pgm or .tif
# suffix (any letter case); unreadable files are skipped with a counted
# warning.
#
#   python tools/train.py \
#     configs/densesiam/densesiam_resnet50_1xb64-coslr-100e_image-folder.py \
#     --data-root /path/to/images --work-dir work_dirs/my_pretrain_r50 --amp
#   bash tools/dist_train.sh <this config> 8 --data-root /path/to/images \
#     --auto-scale-lr  # 8 GPUs
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | data         | `data_root` (default data/images/), two 224 px views |
# | model        | ResNet-50 (SyncBN, BN on one GPU), K = 7, l1 = 1,    |
# |              | l2 = 0.1                                             |
# | schedule     | 100 epochs, batch 64, SGD lr 0.05 x 64 / 256, cosine,|
# |              | fixed predictor lr (SimSiam)                         |
# | RegionSim    | on from half of training                             |
# | checkpoints  | every 10 epochs (3 kept), resumable with --resume    |
_base_ = [
    '../_base_/models/densesiam_resnet50.py',
    '../_base_/datasets/image-folder_bs8_densesiam.py',
    '../_base_/schedules/sgd_coslr_200e_bs512.py',
    '../_base_/densesiam_runtime.py',
]

data_root = 'data/images/'
batch_size = 64
max_epochs = 100
crop_size = 224
train_pipeline = _base_.train_pipeline
train_pipeline[0].on_unreadable = 'skip'  # CheckedLoadImageFromFile
train_pipeline[1].transforms[0][0].scale = crop_size  # each view's crop
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))

lr = 0.05 * batch_size / 256  # SimSiam's rule
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='RegionSimHook', start_ratio=0.5)
]
randomness = dict(seed=0)
