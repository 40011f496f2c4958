#!/usr/bin/env bash
# Fine-tune a mmseg benchmark config TRIALS times (paper: 5 seeds) through
# `mim train mmseg`; see tools/benchmarks/mim_train_trials.sh for the
# arguments and environment variables.
#
#   bash tools/benchmarks/mmsegmentation/mim_train_trials.sh CONFIG CHECKPOINT \
#       [WORK_ROOT] [-- ARGS for mmseg's tools/train.py]
exec bash "$(dirname "$0")/../mim_train_trials.sh" mmseg "$@"
