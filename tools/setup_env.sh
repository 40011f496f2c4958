#!/usr/bin/env bash
# Set up a virtual environment with the OpenMMLab stack and densesiam_mm.
#
#   bash tools/setup_env.sh            # creates ./.venv when missing
#   VENV=/path/to/env bash tools/setup_env.sh
#   VENV=system bash tools/setup_env.sh   # use the current python, no venv
#
# Hermetic: every pip call installs under requirements/constraints.txt, the
# lock of the whole stack (regenerate it with `bash tools/lock_env.sh`), and
# the build tools mmcv's setup.py needs are pinned there too. mmcv's setup.py
# imports pkg_resources, which new setuptools releases no longer ship, so it
# is never run in an isolated build environment (pip would fetch the newest
# setuptools into one): `--no-build-isolation` on the download (metadata) and
# wheel steps alike.
#
# Idempotent: packages that already import (torch, torchvision, mmcv with ops)
# are kept, never replaced. mmcv 2.1.0 has no wheel for recent torch, so it is
# built from its sdist once and cached under $DENSESIAM_WHEEL_CACHE
# (default ~/.cache/densesiam_mm/wheels/<torch version>/), so the next
# install of the same stack takes seconds. CI points that variable at a new
# empty folder so the build runs every time.
#
# Each step writes its output to $SETUP_LOG_DIR/<step>.log (default
# .setup_logs/); a failing step names itself and its log file.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.2"}
MMCV_VERSION=2.1.0
LOCK=${DENSESIAM_CONSTRAINTS:-$REPO/requirements/constraints.txt}
CACHE_ROOT=${DENSESIAM_WHEEL_CACHE:-$HOME/.cache/densesiam_mm/wheels}
LOG_DIR=${SETUP_LOG_DIR:-$REPO/.setup_logs}
mkdir -p "$LOG_DIR"

log() { printf '[setup_env] %s\n' "$*"; }
now() { date +%s; }

# run_step NAME CMD...: run CMD with its output in $LOG_DIR/NAME.log; on
# failure print the step, the log's tail and the log's path, then stop.
run_step() {
  local name=$1; shift
  local logfile="$LOG_DIR/$name.log" t0; t0=$(now)
  if ! "$@" >"$logfile" 2>&1; then
    echo "[setup_env] step '$name' FAILED after $(( $(now) - t0 )) s; last lines of $logfile:" >&2
    tail -n 25 "$logfile" | sed 's/^/    /' >&2
    echo "[setup_env] step '$name' failed: read $logfile" >&2
    exit 1
  fi
  log "step '$name' done in $(( $(now) - t0 )) s (log: $logfile)"
}

[ -f "$LOCK" ] || { echo "[setup_env] lock file $LOCK is missing" >&2; exit 1; }

if [ "$VENV" = system ]; then
  PY=${PYTHON:-python3}
else
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    run_step create-venv "${PYTHON:-python3}" -m venv "$VENV"
  fi
  PY="$(cd "$VENV" && pwd)/bin/python"
fi
PIP=("$PY" -m pip --disable-pip-version-check)

has() { "$PY" -c "$1" >/dev/null 2>&1; }

# The effective constraints: the lock, except that torch, torchvision and
# mmcv already in the environment are pinned to what is installed (a user's
# own builds are kept, never replaced).
CONSTRAINTS="$LOG_DIR/constraints.effective.txt"
effective_constraints() {
  local keep
  keep=$("$PY" - 2>/dev/null <<'PY' || true
import importlib.metadata as m
for name in ('torch', 'torchvision', 'mmcv'):
    try:
        print(f'{name}=={m.version(name)}')
    except m.PackageNotFoundError:
        pass
PY
)
  if [ -n "$keep" ]; then
    grep -viE '^(torch|torchvision|mmcv)==' "$LOCK" > "$CONSTRAINTS"
    echo "$keep" >> "$CONSTRAINTS"
  else
    cp "$LOCK" "$CONSTRAINTS"
  fi
}
effective_constraints
# Every pip call, and any build environment pip makes, obeys the pins.
export PIP_CONSTRAINT="$CONSTRAINTS"

# 0. Build tools at their locked versions (mmcv's setup.py imports
#    pkg_resources: setuptools 77-81 (torch 2.14 needs >= 77.0.3, 82 dropped
#    pkg_resources); numpy is the one mmcv is built against).
build_tools_ok() {
  "$PY" - "$CONSTRAINTS" <<'PY'
import sys, importlib.metadata as m
want = {}
for line in open(sys.argv[1]):
    name, _, ver = line.strip().partition('==')
    if name.lower() in ('setuptools', 'wheel', 'ninja', 'numpy'):
        want[name.lower()] = ver
for name, ver in want.items():
    if m.version(name) != ver:
        sys.exit(1)
PY
}
if [ "$VENV" != system ] && ! has "import importlib.metadata as m; assert m.version('pip') == '$(grep -i '^pip==' "$CONSTRAINTS" | cut -d= -f3)'"; then
  # A venv of ours gets the locked pip too (newer pips no longer pass
  # PIP_CONSTRAINT into build environments).
  run_step pip "${PIP[@]}" install pip
fi
if ! build_tools_ok >/dev/null 2>&1; then
  run_step build-tools "${PIP[@]}" install setuptools wheel ninja numpy
fi

# 1. torch + torchvision, only when missing.
if has "import torch, torchvision"; then
  log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif has "import torch"; then
  echo "[setup_env] torch is installed but torchvision is not; install the torchvision" \
       "build that matches your torch, then re-run." >&2
  exit 1
else
  log "installing $TORCH_SPEC (about 1.5 min, 5.5 GB)"
  # shellcheck disable=SC2086
  run_step torch "${PIP[@]}" install $TORCH_SPEC
fi
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
effective_constraints

# 2. mmcv with its compiled ops (mmdet 3.3 / mmseg 1.2 need mmcv < 2.2).
if has "import mmcv, mmcv.ops; from mmcv.ops import roi_align; assert mmcv.__version__ < '2.2'"; then
  log "keeping installed mmcv $("$PY" -c 'import mmcv; print(mmcv.__version__)')"
else
  CACHE="$CACHE_ROOT/torch-$TORCH_VERSION"
  mkdir -p "$CACHE"
  WHEEL=$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VERSION with ops from source into $CACHE (about 10 min on 2 cores, once)"
    BUILD=$(mktemp -d)
    # The sdist's metadata is prepared by its setup.py: no build isolation.
    run_step mmcv-download "${PIP[@]}" download --no-build-isolation --no-deps \
      --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    # torch >= 2.5 headers need C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    (cd "$BUILD/mmcv-$MMCV_VERSION" &&
      MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} FORCE_CUDA=0 \
        run_step mmcv-build "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$CACHE" .)
    rm -rf "$BUILD"
    WHEEL=$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
  fi
  log "installing $WHEEL"
  run_step mmcv-install "${PIP[@]}" install --no-deps "$WHEEL"
fi
effective_constraints

# 3. The OpenMMLab libraries and this package (a no-op in seconds when they
#    are there), every version from the lock.
run_step requirements "${PIP[@]}" install -r requirements/runtime.txt -r requirements/tests.txt \
  -r requirements/lint.txt
# densesiam_mm is checked as an installed distribution: `import` would also
# succeed from the source tree without the install (and its .mim links).
if ! has "import importlib.metadata as m; m.version('densesiam_mm')"; then
  log "installing densesiam_mm (editable)"
  run_step densesiam_mm "${PIP[@]}" install --no-build-isolation --no-deps -e .
fi
# `mim train densesiam_mm CONFIG_NAME` looks for the configs under
# <location of the distribution>/densesiam_mm/.mim, i.e. in site-packages;
# an editable (PEP 660) install keeps the package in the repository and puts
# only its metadata there. A link site-packages/densesiam_mm -> the source
# package makes mim find them (what `setup.py develop` used to provide);
# imports resolve to the same files either way.
run_step mim-link "$PY" - "$REPO/densesiam_mm" <<'PY'
import os, sys, sysconfig
src, dst = sys.argv[1], os.path.join(sysconfig.get_paths()['purelib'], 'densesiam_mm')
if os.path.islink(dst) and os.path.realpath(dst) != os.path.realpath(src):
    os.remove(dst)  # a link to another checkout
if not os.path.lexists(dst):
    os.symlink(src, dst)
    print(f'linked {dst} -> {src}')
elif not os.path.islink(dst) and os.path.realpath(dst) != os.path.realpath(src):
    print(f'{dst} is a regular install; leaving it')
PY
# 4. Every installed distribution at its locked version. Strict in CI
#    (DENSESIAM_STRICT_LOCK=1: a new venv must match the lock exactly, so an
#    unlocked transitive package fails here, not a week later); a warning in
#    an environment of the user's own (VENV=system) with packages of its own.
run_step lock-check "$PY" - "$CONSTRAINTS" "${DENSESIAM_STRICT_LOCK:-0}" <<'PY'
import importlib.metadata as m
import re
import sys

def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()

locked = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith('#'):
        name, _, version = line.partition('==')
        locked[norm(name)] = version
problems = []
for dist in m.distributions():
    name = norm(dist.metadata['Name'])
    if name in ('pip', 'densesiam-mm') and sys.argv[2] != '1' or name == 'densesiam-mm':
        continue
    if name not in locked:
        problems.append(f'{name}=={dist.version} is not in the lock')
    elif locked[name] != dist.version:
        problems.append(f'{name}=={dist.version} but the lock says {locked[name]}')
for problem in problems:
    print('[setup_env] lock:', problem)
if problems and sys.argv[2] == '1':
    sys.exit('[setup_env] the environment does not match '
             'requirements/constraints.txt (regenerate it with '
             '`bash tools/lock_env.sh` if the change is intended)')
print(f'[setup_env] lock: {len(locked)} pinned, {len(problems)} differences')
PY
run_step check "$PY" - <<'PY'
import torch, torchvision, mmcv, mmcv.ops, mmengine, mmpretrain, mmseg, mmdet
print('[setup_env] ready: torch %s, torchvision %s, mmcv %s, mmengine %s, '
      'mmpretrain %s, mmseg %s, mmdet %s' % (
          torch.__version__, torchvision.__version__, mmcv.__version__,
          mmengine.__version__, mmpretrain.__version__, mmseg.__version__,
          mmdet.__version__))
PY
cat "$LOG_DIR/check.log"
