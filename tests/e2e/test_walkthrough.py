"""End to end: the real web (uvicorn) and worker (arq) processes, as the Procfile runs them,
over real HTTP, with the SMTP sink reading what the worker sent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from scripts.embedded_redis import free_port
from tests.environment import DATABASE_URL, REDIS_URL
from tests.support import PASSWORD, token_of

BIN = Path(sys.executable).parent


def wait_until(check, what: str, within: float = 20.0) -> None:
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


@pytest.fixture
def system(smtp, clean) -> Iterator[str]:
    """Start web + worker processes; yield the API base URL."""
    port = free_port()
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL, "SMTP_PORT": str(smtp[1]), "BCRYPT_ROUNDS": "4",
           "REFRESH_REUSE_GRACE": "0", "APP_URL": "https://app.example.test"}
    procs = [
        subprocess.Popen([str(BIN / "uvicorn"), "api.app:create_app", "--factory",
                          "--host", "127.0.0.1", "--port", str(port)], env=env),
        subprocess.Popen([str(BIN / "arq"), "worker.settings.WorkerSettings"], env=env),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: web_answers(url), "web")
        r = redis.Redis.from_url(REDIS_URL)
        wait_until(lambda: r.exists("arq:queue:health-check"), "worker")
        r.close()
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


def test_the_whole_walk(system, mailbox):
    api = httpx.Client(base_url=f"{system}/v1/auth", timeout=10)
    email = "walker@example.com"
    started = time.monotonic()
    assert api.post("/register", json={"email": email, "password": PASSWORD}).status_code == 201
    mail = mailbox.wait_for(email, timeout=2.0)[0]
    assert time.monotonic() - started < 2.0

    assert api.post("/verify-email", json={"token": token_of(mail.links[0])}).status_code == 200
    pair = api.post("/signin", json={"email": email, "password": PASSWORD}).json()
    profile = api.get("/profile", headers={"authorization": f"Bearer {pair['accessToken']}"})
    assert profile.json()["email"] == email and profile.json()["emailVerified"] is True

    rotated = api.post("/refresh", json={"refreshToken": pair["refreshToken"]})
    assert rotated.status_code == 200
    replay = api.post("/refresh", json={"refreshToken": pair["refreshToken"]})  # grace = 0
    assert replay.status_code == 401 and replay.json()["type"] == "token_reuse_detected"
    assert api.post("/refresh",
                    json={"refreshToken": rotated.json()["refreshToken"]}).status_code == 401
    dead = {"authorization": f"Bearer {rotated.json()['accessToken']}"}
    assert api.get("/profile", headers=dead).status_code == 401

    again = api.post("/signin", json={"email": email, "password": PASSWORD}).json()
    headers = {"authorization": f"Bearer {again['accessToken']}"}
    assert api.get("/profile", headers=headers).status_code == 200
    assert api.post("/signout", json={"refreshToken": again["refreshToken"]},
                    headers=headers).status_code == 204
    assert api.get("/profile", headers=headers).status_code == 401
    mailbox.wait_for(email, count=2)  # the welcome email came through the worker too
