# Runtime of the unsupervised segmentation configs: mmseg's default runtime
# and scope (mmseg's test loop, metrics and visualizer), the package import
# for `mim train` and a fixed seed. The hooks are in the schedule, as in
# mmseg's schedules.
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)
default_scope = 'mmseg'

log_processor = dict(by_epoch=True)
randomness = dict(seed=0)
