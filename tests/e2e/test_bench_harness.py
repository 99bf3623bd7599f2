"""scripts/bench still starts the system, drives it and reports (a tiny --dry-run load)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.environment import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]


def test_bench_dry_run_reports_every_figure():
    # same engine as this test run: the SQLite run benches SQLite, the PostgreSQL run PostgreSQL
    bench_db = "sqlite" if DATABASE_URL.startswith("sqlite") else DATABASE_URL
    done = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--dry-run",
                           "--bcrypt-rounds", "4"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False,
                          env={**os.environ, "BENCH_DATABASE_URL": bench_db})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    path = next(line.split(" ", 1)[1] for line in done.stdout.splitlines()
                if line.startswith("BENCH_JSON "))
    report = json.loads(Path(path).read_text())
    figures, context = report["figures"], report["context"]
    assert context["cores"] and context["bcrypt_rounds"] == 4
    assert figures["refresh failures"] == 0 and figures["refresh rotations/s"] > 0
    assert figures["profile failures"] == 0 and figures["sign-in failures"] == 0
    assert figures["emails drained"] == 10 and figures["enqueue->SMTP p50 ms"] > 0
    assert json.loads(figures["cleanup deleted"])["one_time_tokens"] == 500
    assert figures["peak RSS MB, arq worker"] > 0
