#!/usr/bin/env bash
# Set up a virtual environment with the OpenMMLab stack and densesiam_mm.
#
#   bash tools/setup_env.sh            # creates ./.venv when missing
#   VENV=/path/to/env bash tools/setup_env.sh
#   VENV=system bash tools/setup_env.sh   # use the current python, no venv
#
# Idempotent: packages that already import (torch, torchvision, mmcv with ops)
# are kept, never replaced. mmcv 2.1.0 has no wheel for recent torch, so it is
# built from its sdist once and cached under $DENSESIAM_WHEEL_CACHE
# (default ~/.cache/densesiam_mm/wheels/<torch version>/), so the next
# install of the same stack takes seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.2"}
MMCV_VERSION=2.1.0
CACHE_ROOT=${DENSESIAM_WHEEL_CACHE:-$HOME/.cache/densesiam_mm/wheels}

log() { printf '[setup_env] %s\n' "$*"; }

if [ "$VENV" = system ]; then
  PY=${PYTHON:-python3}
else
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    ${PYTHON:-python3} -m venv "$VENV"
  fi
  PY="$(cd "$VENV" && pwd)/bin/python"
fi
PIP=("$PY" -m pip --disable-pip-version-check -q)

has() { "$PY" -c "$1" >/dev/null 2>&1; }

# Build tools first: mmcv's setup.py imports pkg_resources (setuptools < 70).
has "import setuptools, wheel, ninja; assert int(setuptools.__version__.split('.')[0]) < 70" ||
  "${PIP[@]}" install "setuptools>=64,<70" wheel ninja

# 1. torch + torchvision, only when missing.
if has "import torch, torchvision"; then
  log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif has "import torch"; then
  echo "[setup_env] torch is installed but torchvision is not; install the torchvision" \
       "build that matches your torch, then re-run." >&2
  exit 1
else
  log "installing $TORCH_SPEC"
  # shellcheck disable=SC2086
  "${PIP[@]}" install $TORCH_SPEC
fi
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')

# 2. mmcv with its compiled ops (mmdet 3.3 / mmseg 1.2 need mmcv < 2.2).
if has "import mmcv, mmcv.ops; from mmcv.ops import roi_align; assert mmcv.__version__ < '2.2'"; then
  log "keeping installed mmcv $("$PY" -c 'import mmcv; print(mmcv.__version__)')"
else
  CACHE="$CACHE_ROOT/torch-$TORCH_VERSION"
  mkdir -p "$CACHE"
  WHEEL=$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VERSION with ops from source (about 10 min on 2 cores, once)"
    BUILD=$(mktemp -d)
    "${PIP[@]}" download --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    # torch >= 2.5 headers need C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    "${PIP[@]}" install "numpy<2"
    (cd "$BUILD/mmcv-$MMCV_VERSION" &&
      MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} FORCE_CUDA=0 \
        "$PY" -m pip wheel --no-build-isolation --no-deps -w "$CACHE" .)
    rm -rf "$BUILD"
    WHEEL=$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
  fi
  log "installing $WHEEL"
  "${PIP[@]}" install --no-deps "$WHEEL"
fi

# 3. The OpenMMLab libraries and this package (a no-op in seconds when they
#    are there). The constraints keep pip from touching torch, torchvision or
#    mmcv while resolving the others.
CONSTRAINTS=$(mktemp)
"$PY" -m pip freeze 2>/dev/null | grep -iE '^(torch|torchvision|mmcv)==' > "$CONSTRAINTS" || true
"${PIP[@]}" install -c "$CONSTRAINTS" -r requirements/runtime.txt -r requirements/tests.txt
# densesiam_mm is checked as an installed distribution: `import` would also
# succeed from the source tree without the install (and its .mim links).
if ! has "import importlib.metadata as m; m.version('densesiam_mm')"; then
  log "installing densesiam_mm (editable)"
  "${PIP[@]}" install -c "$CONSTRAINTS" --no-build-isolation --no-deps -e .
fi
rm -f "$CONSTRAINTS"
"$PY" - <<'PY'
import torch, torchvision, mmcv, mmengine, mmpretrain, mmseg, mmdet
print('[setup_env] ready: torch %s, torchvision %s, mmcv %s, mmengine %s, '
      'mmpretrain %s, mmseg %s, mmdet %s' % (
          torch.__version__, torchvision.__version__, mmcv.__version__,
          mmengine.__version__, mmpretrain.__version__, mmseg.__version__,
          mmdet.__version__))
PY
