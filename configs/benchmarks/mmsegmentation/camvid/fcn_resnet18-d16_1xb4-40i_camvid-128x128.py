# CPU-scale CamVid transfer: FCN on a ResNet-18, fine-tuned for the same
# short budget from DenseSiam pre-training, from SimSiam pre-training, or
# from scratch (tools/benchmarks/transfer_camvid.py runs all three over
# several seeds). The Cityscapes FCN protocol shrunk to two CPU cores.
#
# | setting        | value                                                 |
# | -------------- | ----------------------------------------------------- |
# | data           | CamVid train (367 frames) -> val (101), 11 classes,   |
# |                | label 11 ignored                                      |
# | model          | FCN (2 convs, 128 ch) + aux FCN (64 ch) on a ResNet-18|
# |                | with the plain stem, BN; output stride 16 (layer4     |
# |                | dilated), not 8: a D8 R18 is ~4x the compute, too     |
# |                | slow for 9 runs on two shared CPU cores               |
# | crop / test    | 128x128 crops of 0.5-2.0 x 160x120, flip, photometric |
# |                | distortion; whole 160x120 image at test               |
# | schedule       | 40 iterations, batch 4, SGD lr 0.01, momentum 0.9,    |
# |                | wd 5e-4, poly (power 0.9)                             |
# | init           | --cfg-options model.backbone.init_cfg.checkpoint=CKPT |
# |                | (prefix 'backbone.'), or init_cfg=None for scratch    |
# | metric         | mIoU over the 11 classes, val set                     |
_base_ = './fcn_resnet50-d8_1xb2-1i_camvid-128x128.py'

crop_size = (128, 128)
image_scale = (160, 120)
pretrained = 'work_dirs/transfer_camvid/pretrain/densesiam/iter_80.pth'
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))

# the pipelines of the base at 160x120 (crops stay 128x128)
train_pipeline = _base_.train_pipeline
train_pipeline[2].scale = image_scale  # RandomResize
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = image_scale  # Resize
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(indices=None, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 40
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, save_last=False))
