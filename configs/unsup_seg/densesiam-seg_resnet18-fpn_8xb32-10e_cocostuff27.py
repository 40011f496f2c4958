# DenseSiam-Seg: unsupervised semantic segmentation on curated COCO-Stuff-27
# (paper Sec. 4 and Table 6), following the authors' released code
# (ZwwWayne/DenseSiam, config densesiam_r18_fpn_aux_seg-rebalance_4x64_
# sgd-fix-10e_coco-curated.py) wherever the paper is silent. Data prepared
# with tools/dataset_converters/cocostuff27.py into data/cocostuff27/.
# docs/unsup_seg.md has the table "official / ours / why"; this project's
# earlier variant is densesiam-seg-grid_resnet18-fpn_8xb32-10e_cocostuff27.py.
#
# | setting        | value                                                  |
# | -------------- | ------------------------------------------------------ |
# | encoder        | ResNet-18 (supervised ImageNet init) + simplified FPN  |
# |                | (1x1 laterals to 128 ch, upsample-and-add, stride 4)   |
# | projector g    | [1x1 128-128 no bias, BN, ReLU] x2, 1x1 128-N + bias,  |
# |                | BN(N, affine=False); N = 27; predictor h N-128-N       |
# | correspondence | dense: view 1 is a crop of view 2, view 2's FPN map is |
# |                | sampled at every one of view 1's 80 x 80 cells         |
# | PixSim         | softmax cross-entropy D at every aligned cell          |
# | L_seg          | same view: CE(z_v, argmax sg z_v), every cell, weights |
# |                | counts / counts.sum() of the batch, weight 1.0         |
# | auxiliary      | projector/predictor as g/h with N_aux = 128, PixSim    |
# | RegionSim      | kernel contrast: softmax(z) masks x FPN features summed|
# |                | over the cells, g' 3 layers, h' 128-128-128, T = 0.1,  |
# |                | no stop-gradient, weight 0.1 in epochs 9-10 (last 20 %)|
# | loss weights   | l1 = log N_aux / (log N + log N_aux) = 0.60 (PixSim),  |
# |                | l4 = log N / (log N + log N_aux) = 0.40 (aux)          |
# | views          | short side 640, centre crop 640; view 2 = the square at|
# |                | 320; view 1 = square crop of side s*640, s ~ U(0.5, 1),|
# |                | at 320, h-flip p 0.5; per view brightness, contrast,   |
# |                | saturation 0.3, hue 0.1 (each p 0.8), grey 0.2, blur   |
# |                | sigma 0.1-2 (p 0.5); parameters fixed per image        |
# | schedule       | 10 epochs, batch 256 (8 x 32), SGD lr 0.05 constant    |
# |                | (0.05 x batch / 256), momentum 0.9, weight decay 1e-4  |
# | evaluation     | val 2,175 images, short side 320 (PIL bilinear) +      |
# |                | round-based centre crop 320, Hungarian matching of the |
# |                | 27 clusters, mIoU / pixel accuracy                     |
#
# Backbone weights: see ../_base_/models/resnet18-fpn_unsup-seg.py.
_base_ = [
    '../_base_/models/densesiam-seg_resnet18-fpn.py',
    '../_base_/datasets/cocostuff27_nested-views.py',
    '../_base_/schedules/sgd_constant_10e.py',
    '../_base_/unsup_seg_runtime.py',
]

custom_hooks = [
    # kernel contrast in the last 20 % of training (epochs 9 and 10)
    dict(type='mmpretrain.RegionSimHook', start_ratio=0.8),
]
