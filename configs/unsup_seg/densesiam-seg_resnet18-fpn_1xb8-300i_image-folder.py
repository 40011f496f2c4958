# DenseSiam-Seg on your own folder of images, without labels (CPU sized):
# the CamVid recipe (densesiam-seg_resnet18-fpn_1xb8-3e_camvid.py) on every
# image under `data_root` (sub-folders included), N = 16 clusters, no
# validation. Start from your DenseSiam pre-training:
#
#   python tools/train.py \
#     configs/unsup_seg/densesiam-seg_resnet18-fpn_1xb8-300i_image-folder.py \
#     --data-root /path/to/images --work-dir work_dirs/my_seg --cfg-options \
#     model.backbone.init_cfg.checkpoint=work_dirs/my_pretrain/iter_200.pth \
#     model.backbone.init_cfg.prefix=backbone.
#
# or from torchvision's supervised ImageNet ResNet-18 (the default, the
# paper's init; downloaded once), or an extracted backbone / mmpretrain
# ResNet-18 file (`model.backbone.init_cfg.checkpoint=FILE`, with `prefix`
# when its keys start with `backbone.`).
#
# | setting      | value                                                    |
# | ------------ | -------------------------------------------------------- |
# | data         | `data_root` (default data/images/), views as             |
# |              | _base_/datasets/image-folder_nested-views.py             |
# | model        | DenseSiam-Seg R18-FPN, N = 16 clusters, auxiliary 128,   |
# |              | kernel contrast in the last 20 %                         |
# | schedule     | 300 iterations, batch 8, SGD lr 0.05 x 8 / 256 constant  |
# | checkpoints  | every 100 iterations (3 kept), no validation             |
# | inference    | short side 96, clusters resized to the image             |
_base_ = [
    '../_base_/models/densesiam-seg_resnet18-fpn.py',
    '../_base_/datasets/image-folder_nested-views.py',
    '../_base_/schedules/sgd_constant_10e.py',
    '../_base_/unsup_seg_runtime.py',
]

num_classes = 16  # clusters
batch_size = 8
max_iters = 300

model = dict(
    projector=dict(out_channels=num_classes),
    pix_sim_head=dict(
        predictor=dict(in_channels=num_classes, out_channels=num_classes)),
    test_cfg=dict(output_size='ori_shape'))

train_dataloader = dict(batch_size=batch_size)
# the authors' rule: lr = 0.05 x batch / 256
optim_wrapper = dict(optimizer=dict(lr=0.05 * batch_size / 256))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
test_cfg = None
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=10, log_metric_by_epoch=False),
    checkpoint=dict(
        by_epoch=False, interval=100, max_keep_ckpts=3, save_best=None))
custom_hooks = [
    # kernel contrast in the last 20 % of training
    dict(type='mmpretrain.RegionSimHook', start_ratio=0.8),
]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
