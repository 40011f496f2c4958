# PiCIE on CamVid, this project's earlier variant (online labels, trained
# classifiers, K x K cross term, inverse batch weights, SGD; see
# picie-online_resnet18-fpn_8xb32-10e_cocostuff27.py) with the data,
# schedule, initialisation and evaluation of
# densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py; only the model and the
# clustering hook differ. The authors' recipe: picie_resnet18-fpn_1xb8-3e_camvid.py.
#
# | setting      | value                                                    |
# | ------------ | -------------------------------------------------------- |
# | clustering   | spherical k-means, K = 11 per view, before every epoch,  |
# |              | on 16 batches (128 of the 367 frames), 64 pixels per     |
# |              | view, 20 iterations                                      |
# | losses       | within-view + cross-view (K = 12 points/side) CE, 0.5 each|
_base_ = './densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py'

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
    grid_size=12,
    within_weight=0.5,
    cross_weight=0.5,
    temperature=1.0,
    test_cfg=dict(output_size='ori_shape'))

custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        max_batches=16,
        points_per_image=64,
        num_iters=20)
]
