# PiCIE on CamVid, this project's earlier variant (online labels, trained
# classifiers, K x K cross term, inverse batch weights, SGD; see
# picie-online_resnet18-fpn_8xb32-10e_cocostuff27.py) with the data,
# schedule, initialisation and evaluation of
# densesiam-seg-grid_resnet18-fpn_1xb8-3e_camvid.py; only the model and the
# clustering hook differ. The authors' recipe:
# picie_resnet18-fpn_1xb8-3e_camvid.py.
#
# | setting      | value                                                    |
# | ------------ | -------------------------------------------------------- |
# | clustering   | spherical k-means, K = 11 per view, before every epoch,  |
# |              | on 16 batches (128 of the 367 frames), 64 pixels per     |
# |              | view, 20 iterations                                      |
# | losses       | within-view + cross-view (K = 12 points/side) CE, 0.5 each|
_base_ = [
    '../_base_/models/picie-online_resnet18-fpn.py',
    '../_base_/datasets/camvid_crop-views.py',
    '../_base_/schedules/sgd_constant_3e.py',
    '../_base_/unsup_seg_runtime.py',
]

num_classes = 11
model = dict(
    backbone=dict(init_cfg=None),
    num_clusters=num_classes,
    grid_size=12,
    test_cfg=dict(output_size='ori_shape'))

custom_hooks = [
    dict(
        type='KMeansClusteringHook',
        interval=1,
        clustering='sampled',
        max_batches=16,
        points_per_image=64,
        num_iters=20)
]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
