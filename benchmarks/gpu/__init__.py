# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The GPU suite: ``benchmarks/gpu/run.sh``, see its README.md."""
