# The encoder of the unsupervised segmentation models (DenseSiam-Seg and the
# PiCIE baseline alike): ResNet-18 (supervised ImageNet init) + simplified FPN
# (1x1 laterals to 128 ch, upsample-and-add, stride 4), SyncBN, and the
# two-view data preprocessor. The methods add their heads (type and heads).
#
# Backbone weights: `torchvision://resnet18` downloads torchvision's
# ImageNet ResNet-18 (its keys equal mmseg ResNet's; `fc.*` is ignored).
# Any local file works the same way, e.g. this project's pre-training
# checkpoint: init_cfg=dict(type='Pretrained',
# checkpoint='epoch_200.pth', prefix='backbone.').
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='MultiViewSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(
        type='SimplifiedFPN',
        in_channels=[64, 128, 256, 512],
        out_channels=128,
        init_cfg=None))  # PyTorch's default Conv2d init, as the authors
