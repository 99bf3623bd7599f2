"""A request the hashing queue refuses (503 overloaded) changes nothing: no account, no
counted sign-in attempt, no audit event, no spent token, no new password (issue 16).

The test holds the only hashing slot (HASH_CONCURRENCY=1) itself, so every password request
queues and is refused when HASH_QUEUE_MAX_WAIT (50 ms here) has passed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from db.repositories import users
from db.tables import AuditEvent, OutboxMessage
from domain.services import Services
from tests.environment import REDIS_URL
from tests.support import (
    PASSWORD,
    bearer,
    lifespan,
    register,
    running_worker,
    sign_in,
    token_of,
    verified_user,
    wait_mail,
)

NEW = "a brand new passphrase for latchkey"


@pytest.fixture
async def app_and_client(settings, clock) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    from api.app import create_app

    app = create_app(settings.replace(hash_concurrency=1, hash_queue_max_wait=0.05), clock)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(app))
        await stack.enter_async_context(running_worker(settings, clock))
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
        yield app.state.services, client


def assert_overloaded(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "overloaded"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")


async def failures_counted(email: str) -> int:
    redis = Redis.from_url(REDIS_URL)
    try:
        return int(await redis.get(f"latchkey:signin-failures:{email}") or 0)
    finally:
        await redis.aclose()


async def audit_actions(user_id) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(AuditEvent.user_id == user_id)
    return [r["action"] for r in rows]


async def test_refused_sign_in_counts_no_attempt_and_audits_nothing(app_and_client, mailbox):
    svc, client = app_and_client
    await verified_user(client, mailbox, "busy@example.com")
    user = await users.get_by_email("busy@example.com")
    before = await audit_actions(user.id)
    async with svc.hasher.turn():  # every hashing slot is taken
        for password in (PASSWORD, "a wrong password entirely"):
            assert_overloaded(await sign_in(client, "busy@example.com", password=password))
        assert_overloaded(await sign_in(client, "nobody@example.com"))
    assert await failures_counted("busy@example.com") == 0
    assert await failures_counted("nobody@example.com") == 0
    assert await audit_actions(user.id) == before
    assert svc.hasher.admission.refused_total == 3
    # the same checks see a real failure, and the slot is free again
    assert (await sign_in(client, "busy@example.com", password="wrong wrong wrong")
            ).status_code == 401
    assert await failures_counted("busy@example.com") == 1
    assert "auth.signin.failed" in await audit_actions(user.id)
    assert (await sign_in(client, "busy@example.com")).status_code == 200


async def test_refused_registration_creates_nothing(app_and_client):
    svc, client = app_and_client
    async with svc.hasher.turn():
        assert_overloaded(await register(client, "later@example.com"))
    assert not await users.email_exists("later@example.com")
    assert not await OutboxMessage.exists().where(
        OutboxMessage.recipient == "later@example.com")
    assert (await register(client, "later@example.com")).status_code == 201


async def test_refused_reset_keeps_the_token_and_refused_change_the_password(app_and_client,
                                                                            mailbox):
    svc, client = app_and_client
    await verified_user(client, mailbox, "pat@example.com")
    assert (await client.post("/v1/auth/password/forgot",
                              json={"email": "pat@example.com"})).status_code == 200
    link = (await wait_mail(mailbox, "pat@example.com", subject="Reset your password"))[0]
    token = token_of(link.links[0])
    pair = (await sign_in(client, "pat@example.com")).json()
    async with svc.hasher.turn():
        assert_overloaded(await client.post("/v1/auth/password/reset",
                                            json={"token": token, "newPassword": NEW}))
        assert_overloaded(await client.post(
            "/v1/auth/password/change", headers=bearer(pair["accessToken"]),
            json={"currentPassword": PASSWORD, "newPassword": NEW}))
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(pair["accessToken"]))).status_code == 200
    assert (await sign_in(client, "pat@example.com")).status_code == 200  # old password
    assert (await client.post("/v1/auth/password/reset",
                              json={"token": token, "newPassword": NEW})).status_code == 200
