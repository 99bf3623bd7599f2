"""The Procfile's web and worker as real processes, for end-to-end, security and API
conformance tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import redis

from scripts.embedded_redis import free_port
from tests.environment import DATABASE_URL, REDIS_URL

BIN = Path(sys.executable).parent


def wait_until(check: Callable[[], object], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {within}s")
        time.sleep(0.05)


def web_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_system(url: str, redis_url: str = REDIS_URL) -> None:
    """Until the web process at ``url`` answers and an arq worker reports its health."""
    wait_until(lambda: web_answers(url), "web")
    r = redis.Redis.from_url(redis_url)
    try:
        wait_until(lambda: r.exists("arq:queue:health-check"), "worker")
    finally:
        r.close()


@contextlib.contextmanager
def running_system(smtp_port: int, procs: list[subprocess.Popen[bytes]] | None = None,
                   **env: str) -> Iterator[str]:
    """Start web + worker processes on this run's database and Redis; yield the API URL.
    ``env``: extra environment variables (e.g. ``RATE_LIMIT_SIGNIN``, another ``REDIS_URL``);
    ``procs``: a list that receives the [web, worker] processes."""
    port = free_port()
    environ = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
               "REDIS_URL": REDIS_URL, "SMTP_PORT": str(smtp_port), "BCRYPT_ROUNDS": "4",
               "APP_URL": "https://app.example.test", **env}
    procs = [] if procs is None else procs
    procs += [
        subprocess.Popen([str(BIN / "uvicorn"), "api.app:create_app", "--factory",
                          "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                         env=environ),
        subprocess.Popen([sys.executable, "-m", "worker"], env=environ),  # as the Procfile
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_system(url, environ["REDIS_URL"])
        yield url
    finally:
        stop_all(procs)


def stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every process and wait up to 15 s each; one that does not stop is killed (never
    leave a worker polling the test Redis) and the test fails with TimeoutExpired."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
