# ImageNet-1k fine-tuning of a SiameseIM ViT-B/16 (paper: 84.1 top-1).
# mmpretrain's MAE fine-tuning recipe (100 epochs, batch 1024, layer decay
# 0.65, drop path 0.1, RandAugment, mixup 0.8 / cutmix 1.0, label smoothing
# 0.1) with the authors' one difference: base lr 2.5e-4 (MAE: 5e-4), i.e.
# lr 2.5e-4 x 1024 / 256 = 1e-3.
#
# The backbone reads the pre-training checkpoint directly (prefix
# `backbone.`, the online encoder): pass it with
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# or convert the authors' release first (tools/model_converters/
# siameseim_to_vit.py) and set prefix=None. Only the new `ln2` (norm after
# global pooling) and the classifier are not in the checkpoint.
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

checkpoint = 'work_dirs/siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k/epoch_1600.pth'  # noqa: E501
model = dict(
    backbone=dict(
        # `ln2`, the norm after global pooling, is new by design (not in any
        # pre-training checkpoint): the tools' Pretrained check lists it in a
        # warning; every other tensor of the encoder comes from the file.
        init_cfg=dict(
            type='Pretrained',
            checkpoint=checkpoint,
            prefix='backbone.')))

optim_wrapper = dict(optimizer=dict(lr=2.5e-4 * 1024 / 256))
