# Sourced by scripts/dev, scripts/test and scripts/bench: make .venv and install the locked
# dependencies (requirements-dev.lock: runtime + dev extra, exact versions and hashes) and the
# project into it whenever the lock or pyproject.toml changed since the last install.
# Needs only python3 (>= 3.11) with pip on PATH. On failure it returns 1 (exits a script).
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "latchkey needs Python 3.11 or newer as '$PYTHON' (set PYTHON=...)" >&2
  return 1 2>/dev/null || { return 1 2>/dev/null || exit 1; }
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
# pyproject.toml's dependencies changed without a new lock: in CI that is an error (the tests
# must run on a committed lock); on a developer's machine re-lock, keeping every pin that fits.
if ! "$PYTHON" -m scripts.lock --check; then
  if [ "${CI:-}" = true ]; then
    echo "requirements*.lock are stale: run 'python -m scripts.lock' and commit them" >&2
    exit 1
  fi
  echo "==> re-locking the changed dependencies (commit requirements.lock and requirements-dev.lock)"
  .venv/bin/python -m scripts.lock || { return 1 2>/dev/null || exit 1; }
fi
stamp=.venv/.latchkey-installed
want=$(cat requirements-dev.lock pyproject.toml | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing the locked dependencies (requirements-dev.lock) and latchkey into .venv"
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements-dev.lock || { return 1 2>/dev/null || exit 1; }
  .venv/bin/python -m pip install --quiet --no-deps -e . || { return 1 2>/dev/null || exit 1; }
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
