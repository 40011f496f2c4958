#!/usr/bin/env bash
# Fine-tune a mmdet benchmark config TRIALS times (paper: 5 seeds) through
# `mim train mmdet`; see tools/benchmarks/mim_train_trials.sh for the
# arguments and environment variables.
#
#   bash tools/benchmarks/mmdetection/mim_train_trials.sh CONFIG CHECKPOINT \
#       [WORK_ROOT] [-- ARGS for mmdet's tools/train.py]
exec bash "$(dirname "$0")/../mim_train_trials.sh" mmdet "$@"
