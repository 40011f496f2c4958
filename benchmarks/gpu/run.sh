#!/usr/bin/env bash
# Copyright (c) densesiam_mm contributors. All rights reserved.
# The GPU suite, one command (see benchmarks/gpu/README.md):
#   benchmarks/gpu/run.sh [--device cuda|cpu] [--quick] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PYTHON" ]; then
    PYTHON=python
fi
exec "$PYTHON" benchmarks/gpu/run.py "$@"
