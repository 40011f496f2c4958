# PiCIE baseline on curated COCO-Stuff-27, re-implemented on this package's
# modules, with DenseSiam-Seg's data, schedule and evaluation. The switch is
# the `model` (and the clustering hook): everything else is inherited.
#
# | setting        | value                                                  |
# | -------------- | ------------------------------------------------------ |
# | encoder        | ResNet-18 + simplified FPN (same as DenseSiam-Seg)     |
# | clustering     | spherical k-means, K = 27 per view, before every epoch |
# |                | (256 pixels per image and view, 20 iterations)         |
# | losses         | within-view CE (invariance, whole maps) + cross-view   |
# |                | CE at K x K = 16 x 16 shared points (equivariance),    |
# |                | weights 0.5 / 0.5, class-rebalanced                    |
# | classifier     | 1x1 conv on L2-normalised features, re-initialised     |
# |                | with the centroids at every clustering                 |
# | data/schedule  | as densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py |
_base_ = './densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py'

model = dict(
    _delete_=True,
    type='PiCIE',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    num_clusters={{_base_.num_classes}},
    feat_channels=128,
    loss=dict(type='RebalancedPseudoLabelLoss', rebalance=True),
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
        num_iters=20)
]
