# DenseCL (Wang et al., CVPR 2021), ResNet-18: mmpretrain's own `DenseCL`,
# `DenseCLNeck` and `ContrastiveHead` (mmpretrain::densecl/
# densecl_resnet50_8xb32-coslr-200e_in1k.py), the established dense peer of
# the DenseSiam comparison (docs/dense_probe.md).
#
# | part        | setting                                                  |
# | ----------- | -------------------------------------------------------- |
# | encoder     | ResNet-18, BN, zero_init_residual=False (DenseCL's own)  |
# | neck        | DenseCLNeck 512-512-128: global MLP + dense 1x1 convs    |
# | head        | ContrastiveHead, InfoNCE T = 0.2, lambda (dense) = 0.5   |
# | momentum    | key encoder EMA 0.999 (mmpretrain momentum=0.001)        |
# | queue       | queue_len set by the data config (see below)             |
#
# The queue must be sized to the run: mmpretrain's 65,536 keys never fill in
# a CPU-sized run. The CamVid configs use 256 keys, fewer than the 367
# frames, so an image's own earlier key has left the queue before the image
# is seen again (a larger queue would hold stale keys of the positive itself
# as negatives).
model = dict(
    type='DenseCL',
    queue_len=256,
    feat_dim=128,
    momentum=0.001,
    loss_lambda=0.5,
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='DenseCLNeck',
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        num_grid=None),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))
