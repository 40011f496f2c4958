# FCN-D8 R50 on Cityscapes, 769x769 crops, batch 16, 40k iterations,
# SyncBN, fine-tuned from DenseSiam pre-training (paper Table 2, Cityscapes
# column). Only the deltas to mmseg's own
# fcn_r50-d8_4xb2-40k_cityscapes-769x769.py.
#
# | setting        | value                                                 |
# | -------------- | ----------------------------------------------------- |
# | pre-training   | DenseSiam R50, ImageNet-1k, 200 epochs                |
# | model          | FCN (2 convs, concat input) + FCN auxiliary head on   |
# |                | C4, dilated ResNet-50 (output stride 8)               |
# | backbone       | mmseg ResNet with the plain 7x7 stem (V1b), i.e. the  |
# |                | standard ResNet-50 that was pre-trained. mmseg's      |
# |                | default ResNetV1c has a 3-conv deep stem whose        |
# |                | weights a standard ResNet-50 does not have            |
# | normalisation  | SyncBN in backbone and heads                          |
# | schedule       | 40k iterations, batch 16 (8 GPUs x 2), SGD lr 0.01,   |
# |                | momentum 0.9, wd 5e-4, poly (power 0.9)               |
# | data           | Cityscapes train -> val, random resize 0.5-2.0 of     |
# |                | 2049x1025, 769x769 crops; slide test 769/513          |
# | metric         | mIoU (19 classes)                                     |
# | trials         | 5 seeds, mean +- std                                  |
# | paper          | DenseSiam mIoU 77.0 (Table 2)                         |
#
# Weights: read from the full pre-training checkpoint with prefix
# 'backbone.'. For a file written by extract_backbone_weights.py pass
# --cfg-options model.backbone.init_cfg.checkpoint=OUT.pth
# model.backbone.init_cfg.prefix=None
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-769x769.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

pretrained = 'work_dirs/densesiam_resnet50_16xb32-coslr-200e_in1k/epoch_200.pth'  # noqa: E501
model = dict(
    # mmseg's base loads open-mmlab://resnet50_v1c through `pretrained`
    pretrained=None,
    backbone=dict(
        type='ResNet',
        depth=50,
        deep_stem=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')))

# 8 GPUs x 2 images = batch 16 (mmseg's base: 4 GPUs x 2)
train_dataloader = dict(batch_size=2)

randomness = dict(seed=0)
