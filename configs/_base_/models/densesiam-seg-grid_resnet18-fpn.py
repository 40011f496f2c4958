# DenseSiam-Seg, this project's earlier variant (a named option): K x K grid
# correspondence, cross-view L_seg, RegionSim with stop-gradient. The
# differences to densesiam-seg_resnet18-fpn.py (the authors' code) are
# listed in configs/unsup_seg/densesiam-seg-grid_resnet18-fpn_8xb32-10e_
# cocostuff27.py.
_base_ = './densesiam-seg_resnet18-fpn.py'

model = dict(
    projector=dict(num_layers=2, with_last_bias=False),
    aux_projector=dict(num_layers=2, with_last_bias=False),
    pseudo_label_loss=dict(rebalance='inverse'),
    region_sim_head=dict(
        stop_grad=True,
        projector=dict(hid_channels=256, num_layers=2),
        predictor=dict(hid_channels=64),
        loss=dict(temperature=0.2)),
    correspondence='grid',
    pseudo_label='cross_view',
    grid_size=16,
    pseudo_loss_weight=None)  # = l1
