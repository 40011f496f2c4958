# Ablation of densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py: RegionSim
# off (lambda2 = 0), i.e. SimSiam + PixSim. Everything else identical (data,
# views, batch, schedule, seed); the RegionSim head is not built, so it costs
# nothing and its switch hook has nothing to switch.
#
# | setting      | value                                                |
# | ------------ | ---------------------------------------------------- |
# | model        | ResNet-18, BN, K = 7, l1 = 1, l2 = 0 (no RegionSim)   |
# | rest         | as densesiam_resnet18_1xb16-coslr-300i_camvid-128x128 |
_base_ = './densesiam_resnet18_1xb16-coslr-300i_camvid-128x128.py'

model = dict(region_sim_head=None, region_loss_weight=0.)
custom_hooks = _base_.custom_hooks[:1]  # SimSiamHook; no RegionSimHook
