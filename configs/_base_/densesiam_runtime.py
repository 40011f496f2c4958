# Runtime shared by DenseSiam configs: mmpretrain's default runtime, the
# package import for `mim train`, and the RegionSim switch.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))

# RegionSim joins at half of training (paper); SimSiam fixes predictor lr.
custom_hooks = [
    dict(type='RegionSimHook', start_ratio=0.5),
]
