# Copyright (c) densesiam_mm contributors. All rights reserved.
from .trainable_params_constructor import \
    TrainableParamsOptimWrapperConstructor

__all__ = ['TrainableParamsOptimWrapperConstructor']
