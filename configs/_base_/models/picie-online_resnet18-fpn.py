# PiCIE, this project's earlier variant (a named option; picie_resnet18-fpn.py
# follows the authors' code): labels from the training forward pass, trained
# classifiers, cross-view term at K x K grid points, class weights of the
# batch. The differences are listed in configs/unsup_seg/picie-online_
# resnet18-fpn_8xb32-10e_cocostuff27.py.
_base_ = './picie_resnet18-fpn.py'

model = dict(
    loss=dict(
        _delete_=True, type='RebalancedPseudoLabelLoss', rebalance='inverse'),
    correspondence='grid',
    label_source='online',
    freeze_classifiers=False,
    class_weight='batch',
    grid_size=16,
    centroid_norm='unit')  # spherical k-means, cosine labels
# 256 random pixels per image and view, one k-means per epoch
custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        clustering='sampled',
        points_per_image=256,
        num_iters=20,
        bn_mode='eval',
        assign_labels=False)
]
