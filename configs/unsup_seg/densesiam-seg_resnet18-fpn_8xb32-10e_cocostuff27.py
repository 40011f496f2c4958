# DenseSiam-Seg: unsupervised semantic segmentation on curated COCO-Stuff-27
# (paper Sec. 4 and Table 6), following the authors' released code
# (ZwwWayne/DenseSiam, config densesiam_r18_fpn_aux_seg-rebalance_4x64_
# sgd-fix-10e_coco-curated.py) wherever the paper is silent. Data prepared
# with tools/dataset_converters/cocostuff27.py into data/cocostuff27/.
# docs/unsup_seg.md has the table "official / ours / why"; this project's
# earlier variant is densesiam-seg-grid_resnet18-fpn_8xb32-10e_cocostuff27.py.
#
# | setting        | value                                                  |
# | -------------- | ------------------------------------------------------ |
# | encoder        | ResNet-18 (supervised ImageNet init) + simplified FPN  |
# |                | (1x1 laterals to 128 ch, upsample-and-add, stride 4)   |
# | projector g    | [1x1 128-128 no bias, BN, ReLU] x2, 1x1 128-N + bias,  |
# |                | BN(N, affine=False); N = 27; predictor h N-128-N       |
# | correspondence | dense: view 1 is a crop of view 2, view 2's FPN map is |
# |                | sampled at every one of view 1's 80 x 80 cells         |
# | PixSim         | softmax cross-entropy D at every aligned cell          |
# | L_seg          | same view: CE(z_v, argmax sg z_v), every cell, weights |
# |                | counts / counts.sum() of the batch, weight 1.0         |
# | auxiliary      | projector/predictor as g/h with N_aux = 128, PixSim    |
# | RegionSim      | kernel contrast: softmax(z) masks x FPN features summed|
# |                | over the cells, g' 3 layers, h' 128-128-128, T = 0.1,  |
# |                | no stop-gradient, weight 0.1 in epochs 9-10 (last 20 %)|
# | loss weights   | l1 = log N_aux / (log N + log N_aux) = 0.60 (PixSim),  |
# |                | l4 = log N / (log N + log N_aux) = 0.40 (aux)          |
# | views          | short side 640, centre crop 640; view 2 = the square at|
# |                | 320; view 1 = square crop of side s*640, s ~ U(0.5, 1),|
# |                | at 320, h-flip p 0.5; per view brightness, contrast,   |
# |                | saturation 0.3, hue 0.1 (each p 0.8), grey 0.2, blur   |
# |                | sigma 0.1-2 (p 0.5); parameters fixed per image        |
# | schedule       | 10 epochs, batch 256 (8 x 32), SGD lr 0.05 constant    |
# |                | (0.05 x batch / 256), momentum 0.9, weight decay 1e-4  |
# | evaluation     | val 2,175 images, short side 320 (PIL bilinear) +      |
# |                | round-based centre crop 320, Hungarian matching of the |
# |                | 27 clusters, mIoU / pixel accuracy                     |
#
# Backbone weights: `torchvision://resnet18` downloads torchvision's
# ImageNet ResNet-18 (its keys equal mmseg ResNet's; `fc.*` is ignored).
# Any local file works the same way, e.g. this project's pre-training
# checkpoint: init_cfg=dict(type='Pretrained', checkpoint='epoch_200.pth',
# prefix='backbone.').
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
default_scope = 'mmseg'

num_classes = 27
num_aux_clusters = 128
crop_size = 320  # view and evaluation size
image_size = 2 * crop_size  # the square the views are cut from
norm_cfg = dict(type='SyncBN', requires_grad=True)
vec_norm_cfg = norm_cfg  # BN1d of g', h' (SyncBN handles both)

data_preprocessor = dict(
    type='MultiViewSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    type='DenseSiamSeg',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(
        type='SimplifiedFPN', in_channels=[64, 128, 256, 512],
        out_channels=128),
    # PixSim modules live in mmpretrain's registry: built in its scope.
    projector=dict(
        _scope_='mmpretrain',
        type='DenseNonLinearNeck',
        in_channels=128,
        hid_channels=128,
        out_channels=num_classes,
        num_layers=3,
        with_last_bias=True,
        with_last_bn_affine=False,
        norm_cfg=norm_cfg),
    pix_sim_head=dict(
        _scope_='mmpretrain',
        type='PixSimHead',
        predictor=dict(
            type='DenseNonLinearNeck',
            in_channels=num_classes,
            hid_channels=128,
            out_channels=num_classes,
            num_layers=2,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=norm_cfg),
        loss=dict(type='DenseSimilarityLoss', mode='cross_entropy')),
    pseudo_label_loss=dict(
        type='RebalancedPseudoLabelLoss', rebalance='proportional'),
    aux_projector=dict(
        _scope_='mmpretrain',
        type='DenseNonLinearNeck',
        in_channels=128,
        hid_channels=128,
        out_channels=num_aux_clusters,
        num_layers=3,
        with_last_bias=True,
        with_last_bn_affine=False,
        norm_cfg=norm_cfg),
    aux_pix_sim_head=dict(
        _scope_='mmpretrain',
        type='PixSimHead',
        predictor=dict(
            type='DenseNonLinearNeck',
            in_channels=num_aux_clusters,
            hid_channels=128,
            out_channels=num_aux_clusters,
            num_layers=2,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=norm_cfg),
        loss=dict(type='DenseSimilarityLoss', mode='cross_entropy')),
    region_sim_head=dict(
        _scope_='mmpretrain',
        type='RegionSimHead',
        stop_grad=False,
        projector=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=128,
            out_channels=128,
            num_layers=3,
            with_last_bn_affine=False,
            with_avg_pool=False,
            norm_cfg=vec_norm_cfg),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=128,
            out_channels=128,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=vec_norm_cfg),
        loss=dict(type='RegionInfoNCELoss', temperature=0.1)),
    correspondence='dense',
    pseudo_label='same_view',
    dense_loss_weight=None,  # paper formula: 0.596 for N=27, N_aux=128
    aux_loss_weight=None,  # paper formula: 0.404
    pseudo_loss_weight=1.0,
    region_loss_weight=0.1,
    # evaluate at the 320x320 center crop the labels are cropped to
    test_cfg=dict(output_size='img_shape'))

# ---------------------------------------------------------------- data
dataset_type = 'COCOStuff27Dataset'
data_root = 'data/cocostuff27/'
# photometric augmentation of each view; each colour component on its own
# with p = 0.8, in the authors' order
photometric_pipeline = [
    dict(
        type='RandomApply',
        transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.3)],
        prob=0.8),
    dict(
        type='RandomApply',
        transforms=[dict(type='mmpretrain.ColorJitter', contrast=0.3)],
        prob=0.8),
    dict(
        type='RandomApply',
        transforms=[dict(type='mmpretrain.ColorJitter', saturation=0.3)],
        prob=0.8),
    dict(
        type='RandomApply',
        transforms=[dict(type='mmpretrain.ColorJitter', hue=0.1)],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='mmpretrain.GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeCenterCrop', size=image_size),
    dict(
        type='NestedCropViews',
        view_size=crop_size,
        scale=(0.5, 1.0),
        flip_prob=0.5,
        transforms=photometric_pipeline,
        replay_seed=0),  # each image keeps its views for the whole run
    dict(type='PackMultiViewSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedSegAnnotations'),
    dict(type='ResizeCenterCrop', size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='curated_train2017.txt',
        data_prefix=dict(img_path='images/train2017'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='curated_val2017.txt',
        data_prefix=dict(
            img_path='images/val2017', seg_map_path='annotations/val2017'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='HungarianIoUMetric', num_classes=num_classes, matching='hungarian')
test_evaluator = val_evaluator

# ------------------------------------------------------------ schedule
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = []  # constant learning rate
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=256)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1,
                    max_keep_ckpts=3, save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [
    # kernel contrast in the last 20 % of training (epochs 9 and 10)
    dict(type='mmpretrain.RegionSimHook', start_ratio=0.8),
]
log_processor = dict(by_epoch=True)
randomness = dict(seed=0)
