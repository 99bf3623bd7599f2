"""Metrics as the README tells operators to run them: uvicorn with two worker processes and
``PROMETHEUS_MULTIPROC_DIR`` (a directory of their own, created by them if missing),
``/metrics`` behind ``METRICS_TOKEN``; the worker process with its own ``WORKER_METRICS_PORT``.
A scrape, answered by either web process, adds up the counters of both."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from scripts.embedded_redis import free_port
from tests.environment import DATABASE_URL, REDIS_URL
from tests.processes import BIN, stop_all, wait_for_system, wait_until
from tests.support import PASSWORD

TOKEN = "metrics-token-for-the-e2e-test"
HEALTH = {"method": "GET", "route": "/health", "status": "200"}


@pytest.fixture
def system(smtp, clean, tmp_path: Path) -> Iterator[dict[str, str]]:
    """uvicorn --workers 2 and the worker; yields their URLs and the multiprocess dir."""
    web_port, worker_port = free_port(), free_port()
    shared = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
              "REDIS_URL": REDIS_URL, "SMTP_PORT": str(smtp[1]), "BCRYPT_ROUNDS": "4",
              "APP_URL": "https://app.example.test", "METRICS_TOKEN": TOKEN}
    shared.pop("PROMETHEUS_MULTIPROC_DIR", None)
    directory = tmp_path / "web-metrics"  # not made here: the web process creates it
    procs = [
        subprocess.Popen([str(BIN / "uvicorn"), "api.app:create_app", "--factory", "--host",
                          "127.0.0.1", "--port", str(web_port), "--workers", "2",
                          "--no-access-log"],
                         env={**shared, "PROMETHEUS_MULTIPROC_DIR": str(directory)}),
        subprocess.Popen([sys.executable, "-m", "worker"],
                         env={**shared, "WORKER_METRICS_PORT": str(worker_port)}),
    ]
    try:
        wait_for_system(f"http://127.0.0.1:{web_port}")
        yield {"web": f"http://127.0.0.1:{web_port}", "dir": str(directory),
               "worker": f"http://127.0.0.1:{worker_port}/metrics"}
    finally:
        stop_all(procs)


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def health_counts_per_process(directory: str) -> dict[str, float]:
    """GET /health 200s counted by each web process, from its own file (counter_<pid>.db)."""
    counts = {}
    for path in Path(directory).glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)
        counts[path.stem.removeprefix("counter_")] = sum(
            s.value for m in metrics for s in m.samples
            if s.name == "latchkey_http_requests_total" and HEALTH.items() <= s.labels.items())
    return counts


def fresh_get(url: str) -> int:  # a new connection each time: either process may accept it
    return httpx.get(url, timeout=10, headers={"connection": "close"}).status_code


def test_a_scrape_adds_up_both_web_processes_and_the_worker_answers_on_its_port(system):
    made = 0
    with ThreadPoolExecutor(8) as pool:
        while made < 400:  # until both processes answered some (the kernel picks one)
            statuses = list(pool.map(fresh_get, [f"{system['web']}/health"] * 40))
            assert statuses == [200] * 40
            made += 40
            per_process = health_counts_per_process(system["dir"])
            if len([n for n in per_process.values() if n > 0]) == 2:
                break
    assert len(per_process) == 2 and all(per_process.values()), per_process

    scrape = httpx.get(f"{system['web']}/metrics", timeout=10,
                       headers={"authorization": f"Bearer {TOKEN}"})
    assert scrape.status_code == 200, scrape.text
    assert samples(scrape.text, "latchkey_http_requests_total", **HEALTH) >= made
    assert samples(scrape.text, "latchkey_http_requests_total", **HEALTH) == sum(
        per_process.values())
    assert samples(scrape.text, "latchkey_http_request_duration_seconds_count",
                   method="GET", route="/health") >= made
    assert "latchkey_outbox_pending_messages" in scrape.text
    assert httpx.get(f"{system['web']}/metrics", timeout=10).status_code == 401

    email = "counted@example.com"
    registered = httpx.post(f"{system['web']}/v1/auth/register", timeout=10,
                            json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201

    def delivery_counted() -> bool:
        worker = httpx.get(system["worker"], timeout=5)
        assert worker.status_code == 200
        return samples(worker.text, "latchkey_jobs_total", kind="verify_email",
                       outcome="sent") == 1

    wait_until(delivery_counted, "the worker's metrics count the delivery", 20)
    assert httpx.get(system["worker"].replace("/metrics", "/other"), timeout=5).status_code == 404
