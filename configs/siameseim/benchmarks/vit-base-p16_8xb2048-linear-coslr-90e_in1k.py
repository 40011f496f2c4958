# ImageNet-1k linear probing of a SiameseIM ViT-B/16 (paper: 78.0 top-1).
# mmpretrain's MAE linear recipe (LARS lr 6.4 = 0.1 x 16384 / 256, batch
# 16384, 90 epochs, 10 warm-up, BatchNorm without affine before the linear
# classifier, frozen encoder) with the authors' one difference: the feature
# is the global average of the patch tokens (their --global_pool), normalised
# by a fresh frozen LayerNorm, not the class token after the final norm.
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'  # noqa: E501

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

checkpoint = 'work_dirs/siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k/epoch_1600.pth'  # noqa: E501
model = dict(
    backbone=dict(
        out_type='avg_featmap',
        final_norm=False,
        # `ln2`, the norm after global pooling, is new by design (not in any
        # pre-training checkpoint): the tools' Pretrained check lists it in a
        # warning; every other tensor of the encoder comes from the file.
        init_cfg=dict(
            type='Pretrained',
            checkpoint=checkpoint,
            prefix='backbone.')))
