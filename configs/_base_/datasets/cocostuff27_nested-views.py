# Curated COCO-Stuff-27 for unsupervised segmentation (DenseSiam-Seg and
# PiCIE), as the authors' released code: data prepared with
# tools/dataset_converters/cocostuff27.py into data/cocostuff27/.
#
# | setting    | value                                                      |
# | ---------- | ---------------------------------------------------------- |
# | views      | short side 640, centre crop 640; view 2 = the square at    |
# |            | 320; view 1 = square crop of side s*640, s ~ U(0.5, 1), at |
# |            | 320, h-flip p 0.5; per view brightness, contrast,          |
# |            | saturation 0.3, hue 0.1 (each p 0.8), grey 0.2, blur sigma |
# |            | 0.1-2 (p 0.5) on the square before the resize (authors'    |
# |            | order); parameters fixed per image                         |
# | evaluation | val 2,175 images, short side 320 (PIL bilinear) + round-   |
# |            | based centre crop 320, Hungarian matching of the 27        |
# |            | clusters, mIoU / pixel accuracy                            |
crop_size = 320  # view and evaluation size
image_size = 2 * crop_size  # the square the views are cut from
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
        photometric_first=True,  # on the square, before the resize
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
    type='HungarianIoUMetric', num_classes=27, matching='hungarian')
test_evaluator = val_evaluator
