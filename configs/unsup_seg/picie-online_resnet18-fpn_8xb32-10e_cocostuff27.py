# PiCIE, this project's earlier variant (named option; the baseline config
# picie_resnet18-fpn_8xb32-10e_cocostuff27.py follows the authors' code).
#
# | setting        | this variant (authors' code in brackets)               |
# | -------------- | ------------------------------------------------------ |
# | clustering     | spherical k-means on 256 random pixels per image and   |
# |                | view (every pixel)                                     |
# | labels         | nearest centroid of the training forward pass (BN in   |
# |                | train mode) (separate pass, fixed for the epoch)       |
# | classifiers    | initialised with the centroids, then trained (frozen)  |
# | losses         | cross-view term at K x K = 16 x 16 shared points; class|
# |                | weights 1 / n_c of the batch (full aligned maps,       |
# |                | n_vk / n_v of the epoch)                               |
# | schedule       | batch 256, SGD lr 0.05, momentum 0.9, wd 1e-4 (batch   |
# |                | 128, Adam 1e-4)                                        |
# | views          | the earlier DenseSiam-Seg variant's random crops       |
_base_ = './densesiam-seg-grid_resnet18-fpn_8xb32-10e_cocostuff27.py'

model = dict(
    _delete_=True,
    type='PiCIE',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    num_clusters={{_base_.num_classes}},
    feat_channels=128,
    loss=dict(type='RebalancedPseudoLabelLoss', rebalance='inverse'),
    correspondence='grid',
    label_source='online',
    freeze_classifiers=False,
    class_weight='batch',
    grid_size=16,
    within_weight=0.5,
    cross_weight=0.5,
    temperature=1.0,
    test_cfg=dict(output_size='img_shape'))
custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        points_per_image=256,
        num_iters=20,
        bn_mode='eval',
        assign_labels=False)
]
