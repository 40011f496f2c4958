# SiameseIM ViT-B/16, the shorter 400-epoch ImageNet-1k schedule (the
# paper's ablation length): everything as the 1600-epoch config, 40 warm-up
# epochs + cosine over 400 epochs (EMA momentum cosine over the same
# iterations).
_base_ = './siameseim_vit-base-p16_32xb128-amp-coslr-1600e_in1k.py'

max_epochs = 400
warmup_epochs = 40
param_scheduler = _base_.param_scheduler  # [linear warm-up, cosine]
param_scheduler[1].update(T_max=max_epochs - warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
