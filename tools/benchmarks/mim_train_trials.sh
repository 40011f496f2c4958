#!/usr/bin/env bash
# Fine-tune an mmdet or mmseg benchmark config from a pre-training checkpoint
# through `mim train PACKAGE`, TRIALS times with different seeds (paper: 5).
#
#   bash tools/benchmarks/mim_train_trials.sh mmdet|mmseg CONFIG CHECKPOINT \
#       [WORK_ROOT] [-- ARGS for the package's tools/train.py, e.g. --amp]
#
# (tools/benchmarks/{mmdetection,mmsegmentation}/mim_train_trials.sh call it
# with the package filled in.)
#
# CHECKPOINT: a full pre-training checkpoint (DenseSiam/SimSiam, keys
# `backbone.*`, loaded with prefix 'backbone.') or a file written by
# tools/model_converters/extract_backbone_weights.py (no prefix); detected
# from its keys. R50-C4 configs (a RoI `shared_head`) get it for res5 too.
#
# Environment (default):
#   GPUS (8)             GPUs in all; 0 runs on CPU (LAUNCHER=none)
#   LAUNCHER (pytorch)   none | pytorch (one node, torch.distributed) | slurm
#   PARTITION            slurm partition (LAUNCHER=slurm)
#   GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS ("")   slurm only
#   TRIALS (5)           seeds 0 .. TRIALS-1; SEEDS="0 3 7" overrides
#   PYTHON (python)      interpreter used to inspect CHECKPOINT
#   MIM (mim)            the mim command
# Work dirs: WORK_ROOT/seed{S} (default WORK_ROOT:
# work_dirs/benchmarks/<checkpoint dir>_<checkpoint name>/<config name>),
# ready for
#   python tools/benchmarks/collect_results.py work_dirs/benchmarks/<...>
set -euo pipefail

if [ $# -lt 3 ] || { [ "$1" != mmdet ] && [ "$1" != mmseg ]; }; then
    sed -n '2,27p' "$0"
    exit 1
fi
PACKAGE=$1
CONFIG=$2
CHECKPOINT=$3
shift 3
CFG_NAME=$(basename "${CONFIG%.py}")
CKPT_NAME=$(basename "$(dirname "$CHECKPOINT")")_$(basename "${CHECKPOINT%.pth}")
WORK_ROOT=work_dirs/benchmarks/${CKPT_NAME}/${CFG_NAME}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    WORK_ROOT=$1
    shift
fi
if [ $# -gt 0 ] && [ "$1" == "--" ]; then
    shift
fi
EXTRA_ARGS=("$@")

GPUS=${GPUS:-8}
LAUNCHER=${LAUNCHER:-pytorch}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
TRIALS=${TRIALS:-5}
SEEDS=${SEEDS:-$(seq -s ' ' 0 $((TRIALS - 1)))}
PYTHON=${PYTHON:-python}
MIM=${MIM:-mim}

[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
[ -f "$CHECKPOINT" ] || { echo "checkpoint not found: $CHECKPOINT" >&2; exit 1; }

# 'backbone.' for a pre-training checkpoint, None for an extracted backbone;
# R50-C4 models also initialise their RoI shared head (res5) from it
DETECTED=$("$PYTHON" - "$CHECKPOINT" "$CONFIG" <<'PY' | tail -n 1
import sys
from mmengine.config import Config
from densesiam_mm.checkpoint import load_checkpoint_file
ckpt = load_checkpoint_file(sys.argv[1], map_location='cpu')
state = ckpt.get('state_dict', ckpt)
prefix = 'backbone.' if any(k.startswith('backbone.') for k in state) else 'None'
roi_head = Config.fromfile(sys.argv[2]).model.get('roi_head') or {}
print(prefix, int('shared_head' in roi_head))
PY
)
read -r PREFIX HAS_SHARED_HEAD <<< "$DETECTED"
INIT_OPTS=(model.backbone.init_cfg.checkpoint="$CHECKPOINT"
           model.backbone.init_cfg.prefix="$PREFIX")
if [ "$HAS_SHARED_HEAD" == "1" ]; then
    INIT_OPTS+=(model.roi_head.shared_head.init_cfg.checkpoint="$CHECKPOINT"
                model.roi_head.shared_head.init_cfg.prefix="$PREFIX")
fi

case $LAUNCHER in
    none) LAUNCH_OPTS=(--launcher none --gpus "$GPUS") ;;
    pytorch) LAUNCH_OPTS=(--launcher pytorch --gpus "$GPUS") ;;
    slurm)
        [ -n "${PARTITION:-}" ] || { echo "LAUNCHER=slurm needs PARTITION" >&2; exit 1; }
        LAUNCH_OPTS=(--launcher slurm --gpus "$GPUS"
                     --gpus-per-node "$GPUS_PER_NODE"
                     --cpus-per-task "$CPUS_PER_TASK"
                     --partition "$PARTITION")
        if [ -n "$SRUN_ARGS" ]; then
            LAUNCH_OPTS+=(--srun-args "$SRUN_ARGS")
        fi ;;
    *) echo "unknown LAUNCHER=$LAUNCHER (none|pytorch|slurm)" >&2; exit 1 ;;
esac

for SEED in $SEEDS; do
    echo "== $CFG_NAME from $CHECKPOINT (prefix $PREFIX), seed $SEED"
    "$MIM" train "$PACKAGE" "$CONFIG" "${LAUNCH_OPTS[@]}" \
        --work-dir "$WORK_ROOT/seed$SEED" \
        --cfg-options randomness.seed="$SEED" "${INIT_OPTS[@]}" \
        ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}
done
