# Copyright (c) densesiam_mm contributors. All rights reserved.
from .densesiam import DenseSiam

__all__ = ['DenseSiam']
