# SimSiam, ResNet-18 (512-channel C5), plain BN (one process): the CPU-sized
# baseline of the CamVid configs. Same structure as simsiam_resnet50.py.
_base_ = './simsiam_resnet50.py'

map_norm = dict(type='BN')  # feature maps
vec_norm = dict(type='BN1d')  # pooled vectors
model = dict(
    backbone=dict(depth=18, norm_cfg=map_norm),
    neck=dict(
        in_channels=512, hid_channels=512, out_channels=512,
        norm_cfg=vec_norm),
    head=dict(
        predictor=dict(
            in_channels=512,
            hid_channels=128,
            out_channels=512,
            norm_cfg=vec_norm)))
