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
    '../_base_/datasets/imagenet_bs32_densesiam.py',
    '../_base_/schedules/sgd_coslr_60i.py',
    '../_base_/densesiam_runtime.py',
]

# The shipped photos, located through the package (not the working
# directory), so `mim train densesiam_mm <this config>` works anywhere.
from densesiam_mm.utils.demo_data import demo_data_root  # noqa: E402

crop_size = 128
# One process: plain BN (2d for maps, 1d for vectors) instead of SyncBN.
map_norm = dict(type='BN')
vec_norm = dict(type='BN1d')
model = dict(
    backbone=dict(norm_cfg=map_norm),
    neck=dict(norm_cfg=vec_norm),
    head=dict(predictor=dict(norm_cfg=vec_norm)),
    pix_sim_neck=dict(norm_cfg=map_norm),
    pix_sim_head=dict(predictor=dict(norm_cfg=map_norm)),
    region_sim_head=dict(
        projector=dict(norm_cfg=vec_norm), predictor=dict(norm_cfg=vec_norm)))

view_pipeline = [
    dict(
        type='RandomResizedCropWithBox',
        scale=crop_size,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='CheckedLoadImageFromFile', color_type='color'),
    dict(
        type='MultiViewWithGeometry', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips']),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=demo_data_root(),
        with_label=False,
        pipeline=train_pipeline))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=20, max_keep_ckpts=3))
custom_hooks = [
    # adjust_by_epoch=False: an iteration-based loop has one "epoch", so the
    # predictor lr must be fixed every iteration (also after a resume).
    dict(
        type='SimSiamHook',
        priority='HIGH',
        fix_pred_lr=True,
        lr={{_base_.lr}},
        adjust_by_epoch=False),
    dict(type='RegionSimHook', start_ratio=0.5),
]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
