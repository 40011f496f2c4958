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
_base_ = [
    '../_base_/models/picie-online_resnet18-fpn.py',
    '../_base_/datasets/cocostuff27_crop-views.py',
    '../_base_/schedules/sgd_constant_10e.py',
    '../_base_/unsup_seg_runtime.py',
]

# labels from the training forward pass
custom_hooks = [dict(_base_.custom_hooks[0], assign_labels=False)]
