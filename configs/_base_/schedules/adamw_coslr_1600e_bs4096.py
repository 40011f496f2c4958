# SiameseIM's schedule: AdamW (0.9, 0.95), lr 6.25e-5 x 4096 / 256 = 1e-3,
# weight decay 0.05 (none on biases and norms), grad clip 1.0, fp16; 1600
# epochs, 40 warm-up epochs + cosine, batch 4096.
max_epochs = 1600
warmup_epochs = 40
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW',
        lr=6.25e-5 * 4096 / 256,
        betas=(0.9, 0.95),
        weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    # Frozen parameters (patch embedding, position table, EMA target) are
    # left out of the optimizer; no weight decay on 1-D parameters (biases,
    # norms), as the authors' timm parameter groups.
    constructor='TrainableParamsOptimWrapperConstructor',
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=4096)
