# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Benchmarks (not tests): run them by hand, see docs/benchmarks.md."""
