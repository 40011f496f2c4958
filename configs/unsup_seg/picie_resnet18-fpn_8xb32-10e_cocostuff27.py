# PiCIE baseline on curated COCO-Stuff-27, re-implemented on this package's
# modules following the authors' code (janghyuncho/PiCIE train_picie.py,
# commons.py), with DenseSiam-Seg's data and evaluation. The switch is the
# `model`, the optimiser and the clustering hook: everything else is
# inherited. This project's earlier variant:
# picie-online_resnet18-fpn_8xb32-10e_cocostuff27.py.
#
# | setting        | value                                                  |
# | -------------- | ------------------------------------------------------ |
# | encoder        | ResNet-18 + simplified FPN (same as DenseSiam-Seg)     |
# | clustering     | k-means, K = 27 per view, before every epoch, on every |
# |                | pixel of every image and view: faiss mini-batch        |
# |                | k-means streamed over the data (clustering batch 256 = |
# |                | 8 x 32, initial k-means on 30 batches, running-mean    |
# |                | updates every 30), raw Euclidean centroids, view 2     |
# |                | sampled at view 1's cells, BN with running statistics; |
# |                | centroids, labels and weights over all 8 processes     |
# | labels         | nearest centroid of every pixel, assigned once per     |
# |                | epoch in a second pass (views fixed per image), not    |
# |                | from the training forward pass                         |
# | classifiers    | 1x1 convs = the centroids, frozen                      |
# | losses         | (within-view CE + cross-view CE) / 2 on the full       |
# |                | aligned maps; class k of view v weighs n_vk / n_v (the |
# |                | epoch's cluster sizes, proportional)                   |
# | schedule       | 10 epochs, batch 128 (8 x 16, the authors' train       |
# |                | batch), Adam lr 1e-4, no weight decay                  |
# | data           | as densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py |
_base_ = [
    '../_base_/models/picie_resnet18-fpn.py',
    '../_base_/datasets/cocostuff27_nested-views.py',
    '../_base_/schedules/sgd_constant_10e.py',
    '../_base_/unsup_seg_runtime.py',
]

train_dataloader = dict(batch_size=16)  # 8 x 16 = 128
# the authors' clustering batch: 8 x 32 = 256
custom_hooks = [dict(_base_.custom_hooks[0], batch_size=32)]
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
