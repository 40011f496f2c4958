# Copyright (c) densesiam_mm contributors. All rights reserved.
"""DenseSiam vs SimSiam cost harness: ``python benchmarks/speed/run.py``."""
