# ADE20K semantic segmentation, UPerNet on a SiameseIM ViT-B/16 (paper:
# 51.1 mIoU). The authors "follow MAE to use UPerNet" and point to
# mmsegmentation's configs/mae: this is that config unchanged (512 x 512,
# 160k iterations, batch 16, AdamW lr 1e-4, layer decay 0.65, layer scale
# init 1.0, relative position bias, fp16) with the SiameseIM encoder.
#
# Weights: convert first (mmseg's MAE backbone reads mmpretrain's names):
#   python tools/model_converters/siameseim_to_vit.py CKPT \
#       pretrain/siameseim_vit-base-p16_mmpretrain.pth
# (CKPT: our pre-training checkpoint or the authors'
# sim_base_1600ep_pretrain.pth). Missing after loading: only the layer-scale
# gammas and the relative position bias tables/indices that mmseg's MAE adds
# (initialised to 1.0, 0 and computed); the 14 x 14 pos_embed is resized to
# 32 x 32 by the backbone.
_base_ = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
# the Pretrained init_cfg must give the backbone its weights (a wrong
# prefix would train from random weights, exit 0): checked before init
custom_hooks = [dict(type='PretrainedCheckHook')]

model = dict(pretrained='pretrain/siameseim_vit-base-p16_mmpretrain.pth')
