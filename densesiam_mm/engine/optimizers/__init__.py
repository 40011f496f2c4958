# Copyright (c) densesiam_mm contributors. All rights reserved.
from .cpu_amp_optim_wrapper import (CPUAmpOptimWrapper,
                                    NaNGuardCPUAmpOptimWrapper,
                                    cpu_autocast_dtype, cpu_has_native_bf16)
from .nan_guard_optim_wrapper import (NaNGuardAmpOptimWrapper, NaNGuardMixin,
                                      NaNGuardOptimWrapper)
from .trainable_params_constructor import \
    TrainableParamsOptimWrapperConstructor

__all__ = [
    'TrainableParamsOptimWrapperConstructor', 'NaNGuardMixin',
    'NaNGuardOptimWrapper', 'NaNGuardAmpOptimWrapper', 'CPUAmpOptimWrapper',
    'NaNGuardCPUAmpOptimWrapper', 'cpu_autocast_dtype', 'cpu_has_native_bf16'
]
