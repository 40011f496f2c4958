# SiameseIM (Tao et al., CVPR 2023) ViT-B/16 pre-training on ImageNet-1k,
# the authors' recipe (configs/pretrain/dist_sim_base_1600ep.sh of their
# release and the paper's settings table).
#
# | setting        | value                                                   |
# | -------------- | ------------------------------------------------------- |
# | views          | 2 x RandomResizedCrop 224, scale (0.08, 1), bicubic,    |
# |                | h-flip; ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8, gray 0.2 |
# |                | view 1: blur p 1.0; view 2: blur p 0.1, solarize p 0.2  |
# | mask           | view 1, BEiT blocks (min 16), exactly 118 of 196        |
# | online encoder | ViT-B/16, fixed sin-cos pos., frozen patch embedding,   |
# |                | no final norm, 1 + 78 visible tokens                    |
# | projector      | Linear 768 -> 768 + 2 blocks (16 heads), token SyncBN   |
# | predictor      | 4 blocks (16 heads), token SyncBN, Linear 768 -> 768;   |
# |                | queries: mask token + Linear(relative pos./scale code)  |
# | target         | EMA of encoder + projector, 0.995 -> 1 (cosine), view 2 |
# |                | all 196 tokens, LayerNorm without affine                |
# | loss           | UniGrad, negative weight 0.02, fp32                     |
# | optimizer      | AdamW (0.9, 0.95), lr 6.25e-5 x 4096/256 = 1e-3,        |
# |                | wd 0.05 (none on biases and norms), grad clip 1.0, fp16 |
# | schedule       | 1600 epochs, 40 warm-up epochs + cosine, batch 4096     |
#
# Launch: tools/dist_train.sh CONFIG 8 on 4 nodes (32 GPUs x 128 images);
# other GPU counts: --auto-scale-lr keeps lr = 6.25e-5 x batch / 256.
_base_ = [
    '../_base_/models/siameseim_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs128_siameseim.py',
    '../_base_/schedules/adamw_coslr_1600e_bs4096.py',
    'mmpretrain::_base_/default_runtime.py',
]

# the paper's mixed precision: fp16 autocast with dynamic loss scaling
# (AmpOptimWrapper, loss_scale='dynamic' in the schedule)
optim_wrapper = dict(dtype='float16')

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3),
    nan_guard=dict(type='NaNGuardHook', action='raise', max_skips=10))
randomness = dict(seed=0, diff_rank_seed=True)
