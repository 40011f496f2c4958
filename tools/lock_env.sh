#!/usr/bin/env bash
# Regenerate requirements/constraints.txt, the lock of the whole stack, from a
# working environment made by tools/setup_env.sh:
#
#   bash tools/lock_env.sh --fresh    # new throwaway venv, resolved anew
#   bash tools/lock_env.sh            # reads ./.venv
#   VENV=/path/to/env bash tools/lock_env.sh
#
# --fresh builds a new venv with tools/setup_env.sh under only the hand-kept
# build pins of requirements/build.txt (the newest versions that
# requirements/*.txt allow), then locks it: the command to run after changing
# requirements/*.txt.
#
# Every installed distribution is pinned exactly (transitive ones and the
# build tools pip/setuptools/wheel/ninja/numpy included); this package is
# left out. Commit the result: setup_env.sh installs every
# package under it, so two installs a week apart get the same versions.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ "${1:-}" = --fresh ]; then
  VENV=$(mktemp -d -t densesiam-lock-XXXXXX)/venv
  echo "[lock_env] resolving anew into $VENV"
  VENV=$VENV DENSESIAM_CONSTRAINTS=requirements/build.txt bash tools/setup_env.sh
fi
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "[lock_env] no python at $PY: run tools/setup_env.sh first" >&2; exit 1; }
"$PY" - requirements/constraints.txt <<'PY'
import datetime
import importlib.metadata as m
import os
import platform
import sys

out = sys.argv[1]
pins = {}
for dist in m.distributions():
    name = dist.metadata['Name']
    if name.lower().replace('_', '-') == 'densesiam-mm':
        continue
    pins[name.lower()] = f'{name}=={dist.version}'
lines = [
    f'# Lock of the whole stack, made by `bash tools/lock_env.sh` on '
    f'{datetime.date.today()}',
    f'# from an environment built by tools/setup_env.sh (Python '
    f'{platform.python_version()}, {platform.machine()}).',
    '# Every pip call of setup_env.sh installs under it; do not edit by hand.',
] + [pins[key] for key in sorted(pins)]
with open(out + '.tmp', 'w') as f:
    f.write('\n'.join(lines) + '\n')
os.replace(out + '.tmp', out)
print(f'[lock_env] wrote {out} ({len(pins)} packages)')
PY
