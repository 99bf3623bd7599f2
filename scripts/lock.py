"""The lock files: every dependency at one exact version with its hashes, so the tests and a
deploy install the same thing.

* ``requirements-dev.lock``: runtime + the ``dev`` extra; what ``scripts/venv.sh`` installs, so
  the tests run on exactly these versions.
* ``requirements.lock``: runtime only, resolved under the dev lock as a constraint, so each
  runtime package has the version the tests ran on. Deploy with
  ``pip install -r requirements.lock && pip install --no-deps .``.

Both are universal (one file for every platform and Python >= requires-python; markers pick
per platform) and record no download address. ``python -m scripts.lock`` re-resolves after
``pyproject.toml``'s dependencies changed, keeping every pin that still fits;
``--upgrade`` takes the newest allowed versions; ``--check`` exits 1 when the locks no longer
match ``pyproject.toml``. Resolving needs ``uv`` (installed into this Python with pip when
missing); checking needs only the standard library, so ``scripts/venv.sh`` can run it
before ``.venv`` exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
UV_VERSION = "0.13.8"  # the resolver; pinned so two developers' relocks agree
INPUTS_PREFIX = "# inputs: sha256:"
HEADER = """\
# {what} of latchkey, made by `python -m scripts.lock` from pyproject.toml
# (uv pip compile --universal --generate-hashes). Do not edit; see scripts/lock.py.
{prefix}{digest}
"""


def inputs_digest(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """SHA-256 over what a resolution depends on: requires-python, dependencies and every
    optional-dependency list of ``[project]`` (other edits of pyproject.toml do not count)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {key: project.get(key) for key in
              ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    """The inputs digest written in ``lock``'s header, or None (missing file or header)."""
    if not lock.exists():
        return None
    for line in lock.read_text().splitlines():
        if line.startswith(INPUTS_PREFIX):
            return line.removeprefix(INPUTS_PREFIX).strip()
    return None


def stale_locks() -> list[Path]:
    """Lock files that were not made from the current pyproject.toml dependencies."""
    digest = inputs_digest()
    return [lock for lock in (DEV_LOCK, RUNTIME_LOCK) if recorded_digest(lock) != digest]


def uv_binary() -> str:
    """Path of the pinned uv, pip-installing it into this Python's environment if needed."""
    try:
        installed: str | None = version("uv")
    except PackageNotFoundError:
        installed = None
    if installed != UV_VERSION:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
                       check=True)
    # a fresh interpreter: this one may have looked for the uv package before it existed
    return subprocess.run([sys.executable, "-c", "import uv; print(uv.find_uv_bin())"],
                          check=True, capture_output=True, text=True).stdout.strip()


def compile_lock(uv: str, lock: Path, extra: list[str], upgrade: bool) -> None:
    """Resolve into ``lock`` (existing pins are kept as preferences unless ``upgrade``)."""
    command = [uv, "pip", "compile", "pyproject.toml", "--universal", "--generate-hashes",
               "--no-header", "--quiet", "-o", lock.name, *extra]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True)
    what = "Runtime + dev extra dependencies" if lock is DEV_LOCK else "Runtime dependencies"
    header = HEADER.format(what=what, prefix=INPUTS_PREFIX, digest=inputs_digest())
    body = lock.read_text()
    lock.write_text(header + body)


def main() -> None:
    parser = argparse.ArgumentParser(description="make or check requirements*.lock")
    parser.add_argument("--check", action="store_true", help="exit 1 if a lock is stale")
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    args = parser.parse_args()
    if args.check:
        stale = stale_locks()
        for lock in stale:
            print(f"{lock.name} does not match pyproject.toml's dependencies", file=sys.stderr)
        raise SystemExit(1 if stale else 0)
    uv = uv_binary()
    compile_lock(uv, DEV_LOCK, ["--extra", "dev"], args.upgrade)
    compile_lock(uv, RUNTIME_LOCK, ["--constraint", DEV_LOCK.name], upgrade=False)
    print(f"wrote {DEV_LOCK.name} and {RUNTIME_LOCK.name}")


if __name__ == "__main__":
    main()
