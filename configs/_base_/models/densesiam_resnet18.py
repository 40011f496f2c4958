# DenseSiam, ResNet-18 (512-channel C5): the CPU-sized model of the demo and
# CamVid configs. Same structure as densesiam_resnet50.py.
_base_ = './densesiam_resnet50.py'

model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512, out_channels=512),
    head=dict(
        predictor=dict(in_channels=512, hid_channels=128, out_channels=512)),
    pix_sim_neck=dict(in_channels=512),
    region_sim_head=dict(projector=dict(in_channels=512)))
