# SimSiam baseline of fcn_resnet50-d8-syncbn_8xb2-40k_cityscapes-769x769.py:
# same model and schedule, backbone from the SimSiam pre-training checkpoint.
_base_ = './fcn_resnet50-d8-syncbn_8xb2-40k_cityscapes-769x769.py'

pretrained = 'work_dirs/simsiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained)))
