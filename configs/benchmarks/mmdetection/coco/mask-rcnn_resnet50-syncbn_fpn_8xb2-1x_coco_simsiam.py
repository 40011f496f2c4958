# SimSiam baseline of mask-rcnn_resnet50-syncbn_fpn_8xb2-1x_coco.py: the
# same detector and schedule, backbone from the SimSiam pre-training
# checkpoint (configs/simsiam/simsiam_resnet50_16xb32-coslr-200e_in1k.py).
_base_ = './mask-rcnn_resnet50-syncbn_fpn_8xb2-1x_coco.py'

pretrained = 'work_dirs/simsiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained)))
