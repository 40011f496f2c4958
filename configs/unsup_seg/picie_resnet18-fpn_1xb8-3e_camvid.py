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
# |              | cells), faiss mini-batch k-means (raw centroids), BN     |
# |              | with running statistics, 20 iterations                   |
# | labels       | assigned once per epoch, views fixed per frame           |
# | losses       | (within + cross) / 2 on the aligned 24 x 24 maps, frozen |
# |              | centroid classifiers, epoch cluster-size weights         |
# | schedule     | Adam lr 1e-4                                             |
_base_ = [
    '../_base_/models/picie_resnet18-fpn.py',
    '../_base_/datasets/camvid_nested-views.py',
    '../_base_/schedules/sgd_constant_3e.py',
    '../_base_/unsup_seg_runtime.py',
]

num_classes = 11
model = dict(
    backbone=dict(init_cfg=None),
    num_clusters=num_classes,
    test_cfg=dict(output_size='ori_shape'))

optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
# every pixel of the 367 frames (the base's mini-batch k-means: the initial
# k-means on 30 batches of 8 frames, then running-mean updates)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
