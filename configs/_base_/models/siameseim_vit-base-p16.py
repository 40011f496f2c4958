# SiameseIM (Tao et al., CVPR 2023), ViT-B/16 at 224 px: online encoder
# (fixed sin-cos positions, frozen patch embedding, no final norm),
# projector (Linear 768 -> 768 + 2 blocks, token SyncBN) and predictor
# (4 blocks, token SyncBN, relative position/scale queries), EMA target
# 0.995 -> 1 (cosine), UniGrad loss with negative weight 0.02. The settings
# table is in configs/siameseim/siameseim_vit-base-p16_32xb128-amp-coslr-
# 1600e_in1k.py.
embed_dims = 768
token_norm = dict(type='TokenBN', sync_bn=True)
model = dict(
    type='SiameseIM',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='SiameseIMViT',
        arch='b',
        img_size=224,
        patch_size=16,
        final_norm=False,
        out_type='raw',
        frozen_patch_embed=True),
    neck=dict(
        type='SiameseIMProjector',
        in_channels=embed_dims,
        embed_dims=embed_dims,
        num_layers=2,
        num_heads=16,
        norm_cfg=token_norm),
    head=dict(
        type='SiameseIMHead',
        embed_dims=embed_dims,
        num_layers=4,
        num_heads=16,
        norm_cfg=token_norm,
        loss=dict(type='UniGradLoss', neg_weight=0.02)),
    target_momentum=0.005,  # EMA keeps 0.995 of the target at the start
    target_end_momentum=0.,  # ... and 1 at the end (cosine)
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
