# DenseSiam-Seg on CamVid with the authors' recipe (as
# densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py), sized for a CPU:
# trains on the 367 train frames without their labels, evaluates on the 101
# val frames with the 11 classes (Hungarian matching, label 11 ignored).
# This project's earlier variant:
# densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py.
# Data root: $DENSESIAM_SHARED_DATA (default ../shared/data).
#
# | setting      | value (COCO-Stuff-27 paper setting in brackets)          |
# | ------------ | -------------------------------------------------------- |
# | model        | as the COCO config (dense correspondence, same-view      |
# |              | L_seg, kernel contrast in the last 20 %), N = 11 (27),   |
# |              | random init (ImageNet)                                   |
# | views        | short side 192, centre crop 192 (640); view 2 = the      |
# |              | square at 96 px (320), view 1 = square crop of s x 192,  |
# |              | s ~ U(0.5, 1), at 96 px, flip; photometric as COCO       |
# | schedule     | 3 epochs (10), batch 8 (256), SGD lr 0.05 x 8 / 256 =    |
# |              | 0.0016 constant (the authors' rule), momentum 0.9,       |
# |              | wd 1e-4                                                  |
# | evaluation   | whole val frames at short side 96 (view 2's scale),      |
# |              | prediction resized to 480x360 and compared with the      |
# |              | full-resolution labels                                   |
#
# Start from this project's CamVid pre-training instead of random weights:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.prefix=backbone. \
#     model.backbone.init_cfg.checkpoint=PRETRAIN_WORK_DIR/iter_200.pth
# (PRETRAIN_WORK_DIR: where
# configs/densesiam/densesiam_resnet18_1xb16-coslr-200i_camvid.py trained).
_base_ = [
    '../_base_/models/densesiam-seg_resnet18-fpn.py',
    '../_base_/datasets/camvid_nested-views.py',
    '../_base_/schedules/sgd_constant_3e.py',
    '../_base_/unsup_seg_runtime.py',
]

num_classes = 11
batch_size = 8

model = dict(
    backbone=dict(init_cfg=None),
    projector=dict(out_channels=num_classes),
    pix_sim_head=dict(
        predictor=dict(in_channels=num_classes, out_channels=num_classes)),
    test_cfg=dict(output_size='ori_shape'))

train_dataloader = dict(batch_size=batch_size)
# the authors' rule: lr = 0.05 x batch / 256
optim_wrapper = dict(optimizer=dict(lr=0.05 * batch_size / 256))
custom_hooks = [
    # kernel contrast in the last 20 % of training
    dict(type='mmpretrain.RegionSimHook', start_ratio=0.8),
]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
