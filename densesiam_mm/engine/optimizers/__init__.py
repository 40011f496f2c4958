# Copyright (c) densesiam_mm contributors. All rights reserved.
from .nan_guard_optim_wrapper import (NaNGuardAmpOptimWrapper, NaNGuardMixin,
                                      NaNGuardOptimWrapper)
from .trainable_params_constructor import \
    TrainableParamsOptimWrapperConstructor

__all__ = [
    'TrainableParamsOptimWrapperConstructor', 'NaNGuardMixin',
    'NaNGuardOptimWrapper', 'NaNGuardAmpOptimWrapper'
]
