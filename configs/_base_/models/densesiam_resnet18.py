# DenseSiam, ResNet-18 (512-channel C5), plain BN (one process): the
# CPU-sized model of the demo and CamVid configs. Same structure as
# densesiam_resnet50.py; the global branch is simsiam_resnet18.py's.
_base_ = './densesiam_resnet50.py'

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
            norm_cfg=vec_norm)),
    pix_sim_neck=dict(in_channels=512, norm_cfg=map_norm),
    pix_sim_head=dict(predictor=dict(norm_cfg=map_norm)),
    region_sim_head=dict(
        projector=dict(in_channels=512, norm_cfg=vec_norm),
        predictor=dict(norm_cfg=vec_norm)))
