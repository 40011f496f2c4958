# SimSiam baseline of faster-rcnn_resnet50-syncbn-c4_8xb2-24k_voc0712.py:
# same detector and schedule, backbone and res5 head from the SimSiam
# pre-training checkpoint.
_base_ = './faster-rcnn_resnet50-syncbn-c4_8xb2-24k_voc0712.py'

pretrained = 'work_dirs/simsiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained)),
    roi_head=dict(shared_head=dict(init_cfg=dict(checkpoint=pretrained))))
