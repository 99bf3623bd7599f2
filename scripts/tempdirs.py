"""Private temporary folders of dev and test runs: ``<tmp>/latchkey-<kind>-<pid>-<random>``.

Each run removes its own folder when it ends; a run that was killed (SIGKILL, a crash) cannot,
so :func:`make` first removes the folders of ``kind`` whose owning process no longer exists.
Folders of live processes are never touched, so parallel runs are safe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def make(kind: str) -> Path:
    """A new folder for ``kind`` (``redis``, ``test``; no dash), owned by this process."""
    sweep(kind)
    return Path(tempfile.mkdtemp(prefix=f"latchkey-{kind}-{os.getpid()}-"))


def remove(path: Path | str) -> None:
    """Remove a folder made by :func:`make` and all it holds; a missing one is fine."""
    shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    """True when a process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def sweep(kind: str) -> list[Path]:
    """Remove the ``kind`` folders of processes that are gone; returns the removed paths."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"latchkey-{kind}-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not alive(int(pid)) and path.is_dir():
            remove(path)
            removed.append(path)
    return removed
