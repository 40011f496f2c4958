# PiCIE on CamVid with the authors' recipe (as
# picie_resnet18-fpn_8xb32-10e_cocostuff27.py) and exactly the data,
# initialisation, epochs and evaluation of
# densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py; only the model, the
# optimiser and the clustering hook differ. This project's earlier variant:
# picie-online_resnet18-fpn_1xb8-3e_camvid.py.
#
# | setting      | value                                                    |
# | ------------ | -------------------------------------------------------- |
# | clustering   | k-means, K = 11 per view, before every epoch, on every   |
# |              | pixel of the 367 frames (view 2 sampled at view 1's      |
# |              | cells), BN with running statistics, 20 iterations        |
# | labels       | assigned once per epoch, views fixed per frame           |
# | losses       | (within + cross) / 2 on the aligned 24 x 24 maps, frozen |
# |              | centroid classifiers, epoch cluster-size weights         |
# | schedule     | Adam lr 1e-4                                             |
_base_ = './densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py'

model = dict(
    _delete_=True,
    type='PiCIE',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    num_clusters={{_base_.num_classes}},
    feat_channels=128,
    loss=dict(
        type='RebalancedPseudoLabelLoss',
        rebalance='none',
        reduction='weighted_mean'),
    correspondence='dense',
    label_source='stored',
    freeze_classifiers=True,
    class_weight='epoch',
    within_weight=0.5,
    cross_weight=0.5,
    temperature=1.0,
    test_cfg=dict(output_size='ori_shape'))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4))
custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        points_per_image=None,
        num_iters=20,
        bn_mode='eval',
        assign_labels=True)
]
