# DenseSiam-Seg (paper Sec. 4), following the authors' released code: its
# heads on the ResNet-18 + FPN encoder of resnet18-fpn_unsup-seg.py, N = 27
# clusters (COCO-Stuff-27). The settings table, with the official / ours
# differences, is in
# configs/unsup_seg/densesiam-seg_resnet18-fpn_8xb32-10e_cocostuff27.py.
_base_ = './resnet18-fpn_unsup-seg.py'

num_classes = 27
num_aux_clusters = 128
norm_cfg = _base_.norm_cfg
vec_norm_cfg = norm_cfg  # BN1d of g', h' (SyncBN handles both)

model = dict(
    type='DenseSiamSeg',
    # PixSim modules live in mmpretrain's registry: built in its scope.
    # g: [1x1 128-128 no bias, BN, ReLU] x 2, 1x1 128-N + bias, BN(N) without
    # affine
    projector=dict(
        _scope_='mmpretrain',
        type='DenseNonLinearNeck',
        in_channels=128,
        hid_channels=128,
        out_channels=num_classes,
        num_layers=3,
        with_last_bias=True,
        with_last_bn_affine=False,
        norm_cfg=norm_cfg),
    # h: N-128-N; D: softmax cross-entropy at every aligned cell
    pix_sim_head=dict(
        _scope_='mmpretrain',
        type='PixSimHead',
        predictor=dict(
            type='DenseNonLinearNeck',
            in_channels=num_classes,
            hid_channels=128,
            out_channels=num_classes,
            num_layers=2,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=norm_cfg),
        loss=dict(type='DenseSimilarityLoss', mode='cross_entropy')),
    pseudo_label_loss=dict(
        type='RebalancedPseudoLabelLoss', rebalance='proportional'),
    # kernel contrast: g' 3 layers, h' 128-128-128, InfoNCE T = 0.1
    region_sim_head=dict(
        _scope_='mmpretrain',
        type='RegionSimHead',
        stop_grad=False,
        projector=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=128,
            out_channels=128,
            num_layers=3,
            with_last_bn_affine=False,
            with_avg_pool=False,
            norm_cfg=vec_norm_cfg),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=128,
            out_channels=128,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=vec_norm_cfg),
        loss=dict(type='RegionInfoNCELoss', temperature=0.1)),
    correspondence='dense',
    pseudo_label='same_view',
    dense_loss_weight=None,  # paper formula: 0.596 for N=27, N_aux=128
    aux_loss_weight=None,  # paper formula: 0.404
    pseudo_loss_weight=1.0,
    region_loss_weight=0.1,
    # evaluate at the 320x320 center crop the labels are cropped to
    test_cfg=dict(output_size='img_shape'))
# Auxiliary clustering: g and h as above with N_aux = 128 outputs.
model['aux_projector'] = dict(
    model['projector'], out_channels=num_aux_clusters)
model['aux_pix_sim_head'] = dict(
    model['pix_sim_head'],
    predictor=dict(
        model['pix_sim_head']['predictor'],
        in_channels=num_aux_clusters,
        out_channels=num_aux_clusters))
