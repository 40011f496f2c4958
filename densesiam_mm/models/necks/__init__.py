# Copyright (c) densesiam_mm contributors. All rights reserved.
from .dense_nonlinear_neck import DenseNonLinearNeck

__all__ = ['DenseNonLinearNeck']
