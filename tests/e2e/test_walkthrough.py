"""End to end: the real web (uvicorn) and worker (arq) processes, as the Procfile runs them,
over real HTTP, with the SMTP sink reading what the worker sent."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.processes import running_system
from tests.support import PASSWORD, token_of


@pytest.fixture
def system(smtp, clean) -> Iterator[str]:
    """Start web + worker processes; yield the API base URL."""
    with running_system(smtp[1], REFRESH_REUSE_GRACE="0") as url:
        yield url


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
