"""Fault case 8: 50 clients refresh with one refresh token while the web process is restarted
(SIGTERM, a new process on the same port, as a deploy does). Every request that reaches a web
process is answered without a 5xx, all get the same rotated token (one live session, no fork),
and a replay of the token after the grace window revokes the session (RFC 9700 §4.14.2)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import Any

import httpx

from db.tables import Session
from tests.fault.conftest import SystemFactory
from tests.fault.flows import signed_in
from tests.fault.system import WAIT, FaultySink
from tests.support import bearer

CLIENTS = 50
GRACE = 6  # REFRESH_REUSE_GRACE, seconds: longer than the restart, shorter than the test


def refresh_until_answered(url: str, token: str, go: threading.Event,
                           answers: list[httpx.Response], errors: list[str]) -> None:
    """One client: POST /refresh, trying again while no web process accepts the connection
    (every 0.2 s: a tighter loop of 50 threads would starve the new process of CPU)."""
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        go.wait()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                answer = client.post("/v1/auth/refresh", json={"refreshToken": token})
                answer.extensions["received_at"] = time.monotonic()
                answers.append(answer)
                return
            except httpx.TransportError as exc:  # refused or dropped during the restart
                errors.append(type(exc).__name__)
                time.sleep(0.2)
    errors.append("gave up")


async def test_fifty_parallel_refreshes_across_a_web_restart_keep_one_session(
        system: SystemFactory, sink: FaultySink) -> None:
    running = system(REFRESH_REUSE_GRACE=str(GRACE), RATE_LIMIT_REFRESH="10000/minute")
    pair = signed_in(running.url, sink, "tabs@example.com")
    token = pair["refreshToken"]
    answers: list[httpx.Response] = []
    errors: list[str] = []
    early, late = threading.Event(), threading.Event()  # half race the SIGTERM, half the start
    clients = [threading.Thread(target=refresh_until_answered,
                                args=(running.url, token, early if n % 2 else late, answers,
                                      errors))
               for n in range(CLIENTS)]
    for client in clients:
        client.start()
    started = time.monotonic()
    early.set()
    assert running.web is not None
    running.stop(running.web, signal.SIGTERM)  # while the first requests are in flight
    late.set()  # these find no web process until the new one listens
    running.start_web()
    for client in clients:
        client.join(WAIT + 5)
    assert time.monotonic() - started < GRACE, "the restart outlasted the grace window"

    assert "gave up" not in errors and len(answers) == CLIENTS
    assert "ConnectError" in errors, "some clients found the web process down"
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * CLIENTS, statuses  # no 5xx, and no reuse detected in grace
    rotated = {a.json()["refreshToken"] for a in answers}
    assert len(rotated) == 1, "every client got the same successor: the family did not fork"
    assert await live_sessions() == 1
    access = answers[0].json()["accessToken"]
    assert profile(running.url, access) == 200

    # the token was rotated before the first answer left: wait until the grace window ended
    rotated_by = min(a.extensions["received_at"] for a in answers)
    await asyncio.sleep(max(0.0, rotated_by + GRACE + 0.5 - time.monotonic()))
    replay = post(running.url, "/v1/auth/refresh", {"refreshToken": token})
    assert replay.status_code == 401 and replay.json()["type"] == "token_reuse_detected"
    assert await live_sessions() == 0
    assert post(running.url, "/v1/auth/refresh",
                {"refreshToken": rotated.pop()}).status_code == 401
    assert profile(running.url, access) == 401  # deny-listed at once


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=WAIT)


def profile(url: str, access_token: str) -> int:
    return httpx.get(f"{url}/v1/auth/profile", headers=bearer(access_token),
                     timeout=WAIT).status_code


async def live_sessions() -> int:
    return await Session.count().where(Session.revoked_at.is_null())
