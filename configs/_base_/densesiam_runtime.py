# Runtime shared by the pre-training configs (DenseSiam and its SimSiam
# baselines): mmpretrain's default runtime, the package import for
# `mim train` and the NaN guard. The hooks that depend on the method and the
# schedule (SimSiamHook with the lr, RegionSimHook) are set with them.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['densesiam_mm'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    # A non-finite loss term stops training (naming the term, the iteration
    # and the last good checkpoint) before the update is applied (by
    # NaNGuardOptimWrapper, which tools/train.py puts in place of
    # OptimWrapper / AmpOptimWrapper when this hook is configured).
    # `--cfg-options default_hooks.nan_guard.action=skip` skips such
    # iterations instead (raising after more than max_skips of them).
    nan_guard=dict(type='NaNGuardHook', action='raise', max_skips=10))
