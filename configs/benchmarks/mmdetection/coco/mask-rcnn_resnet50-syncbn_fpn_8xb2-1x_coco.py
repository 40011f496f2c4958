# Mask R-CNN R50-FPN 1x on COCO, fine-tuned from DenseSiam pre-training
# (paper Table 2, COCO detection and instance segmentation columns).
# Only the deltas to mmdet's own mask-rcnn_r50_fpn_1x_coco.py.
#
# | setting        | value                                                 |
# | -------------- | ----------------------------------------------------- |
# | pre-training   | DenseSiam R50, ImageNet-1k, 200 epochs                |
# |                | (configs/densesiam/densesiam_resnet50_16xb32-coslr-  |
# |                | 200e_in1k.py)                                         |
# | detector       | Mask R-CNN, ResNet-50 (torchvision layout) + FPN      |
# | normalisation  | SyncBN in backbone (all stages trained, BN not        |
# |                | frozen), FPN, RoI box head (4conv1fc) and mask head   |
# | schedule       | 1x: 12 epochs, batch 16 (8 GPUs x 2), SGD lr 0.02,    |
# |                | momentum 0.9, wd 1e-4, steps at epochs 8 and 11       |
# | data           | COCO train2017 -> val2017, 1333x800, flip             |
# | metrics        | bbox AP, AP50, AP75; segm AP, AP50, AP75              |
# | trials         | 5 seeds, mean +- std                                  |
# | paper          | DenseSiam bbox AP 40.8 (Table 2)                      |
#
# Weights: the backbone is read from the full pre-training checkpoint with
# prefix 'backbone.' (no load_from, no conversion). For a file written by
# tools/model_converters/extract_backbone_weights.py pass
# --cfg-options model.backbone.init_cfg.checkpoint=OUT.pth
# model.backbone.init_cfg.prefix=None
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

# densesiam_mm adds mmengine's checkpoint types to torch's weights_only
# allow-list; a full training checkpoint (with its message hub) loads through
# this project's tools/train.py (or an extracted backbone anywhere).
custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

pretrained = 'work_dirs/densesiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

# seeds are set per trial by tools/benchmarks/mmdetection/*.sh
randomness = dict(seed=0)
