# PiCIE (Cho et al., CVPR 2021), the baseline of DenseSiam-Seg, re-implemented
# on this package's modules following the authors' code (janghyuncho/PiCIE
# train_picie.py, commons.py), on the same ResNet-18 + FPN encoder
# (resnet18-fpn_unsup-seg.py): K = 27 clusters per view (k-means before every
# epoch, KMeansClusteringHook), frozen centroid classifiers, (within-view +
# cross-view CE) / 2 on the aligned maps weighted by the epoch's cluster
# sizes.
_base_ = './resnet18-fpn_unsup-seg.py'

num_classes = 27
model = dict(
    type='PiCIE',
    num_clusters=num_classes,
    feat_channels=128,
    loss=dict(
        type='RebalancedPseudoLabelLoss',
        rebalance='none',
        reduction='weighted_mean'),  # with the epoch's class weights
    correspondence='dense',
    label_source='stored',
    freeze_classifiers=True,
    class_weight='epoch',
    within_weight=0.5,
    cross_weight=0.5,
    temperature=1.0,
    centroid_norm='raw',  # faiss' Euclidean centroids, as the authors
    test_cfg=dict(output_size='img_shape'))
# The clustering step of the algorithm, as the authors' code: mini-batch
# k-means (faiss) over every pixel of every image and view before every
# epoch (initial k-means on the first 30 clustering batches, then a running-
# mean update every 30 batches), BN with running statistics; the labels of
# every pixel assigned in a second pass (views fixed per image), complete on
# every process. clustering='sampled' (points_per_image pixels per image
# and view, one k-means) is the option for CPU-sized runs.
custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        clustering='every_pixel',
        init_batches=30,
        update_batches=30,
        num_iters=20,
        bn_mode='eval',
        assign_labels=True)
]
