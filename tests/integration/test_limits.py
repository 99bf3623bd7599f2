"""Rate limits (429 + Retry-After, shared in Redis) and the per-account sign-in lockout."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from db.repositories import audit, users
from tests.support import (
    JSON,
    PASSWORD,
    register,
    serving,
    sign_in,
    token_of,
    verified_user,
    wait_mail,
)


async def test_per_ip_limit_is_429_with_retry_after(settings, clock, mailbox):
    async with serving(settings.replace(rate_limit_register="2/minute"), clock) as client:
        codes = [(await register(client, f"r{i}@example.com")).status_code for i in range(3)]
        assert codes == [201, 201, 429]
        limited = await register(client, "r9@example.com")
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["type"] == "rate_limited"
        assert limited.json()["limit"] == "register per IP, 2/minute"
        assert limited.json()["setting"] == "RATE_LIMIT_REGISTER"
        assert "register per IP, 2/minute" in limited.json()["detail"]
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        bad_json = await client.post("/v1/auth/register", content=b"{oops", headers=JSON)
        assert bad_json.status_code == 429  # counted before the body is even read


async def test_per_account_limit_does_not_reveal_accounts(settings, clock, mailbox):
    per_ip_off = settings.replace(rate_limit_password_forgot="100/hour")
    async with serving(per_ip_off, clock) as client:
        await verified_user(client, mailbox, "many@example.com")
        known = [await client.post("/v1/auth/password/forgot",
                                   json={"email": "MANY@example.com"}) for _ in range(4)]
        unknown = [await client.post("/v1/auth/password/forgot",
                                     json={"email": "nope@example.com"}) for _ in range(4)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [
        200, 200, 200, 429]
    assert known[3].content == unknown[3].content
    assert known[0].content == unknown[0].content


async def test_parallel_guesses_cannot_pass_the_threshold(settings, clock, mailbox):
    loose = settings.replace(rate_limit_signin="1000/minute")
    async with serving(loose, clock) as client:
        await verified_user(client, mailbox, "lock@example.com")
        guesses = await asyncio.gather(*(
            sign_in(client, "Lock@Example.com" if i % 2 else "lock@example.com",
                    password=f"guess number {i:03d}") for i in range(50)))
        assert {r.status_code for r in guesses} == {401}
        user = await users.get_by_email("lock@example.com")
        actions = await audit.list_actions(user.id)
        assert actions.count("auth.lockout.started") == 1
        checked = await audit_reasons(user.id)
        assert checked.count("bad_credentials") == 10  # only 10 passwords were even checked
        assert checked.count("locked") == 40

        right = await sign_in(client, "lock@example.com")  # locked: same 401 as a wrong one
        assert right.status_code == 401 and right.content == guesses[0].content

        redis = Redis.from_url(settings.redis_url)
        ttl = await redis.ttl("latchkey:locked:lock@example.com")
        assert 0 < ttl <= settings.lockout_duration
        await redis.aclose()

        await client.post("/v1/auth/password/forgot", json={"email": "lock@example.com"})
        link = (await wait_mail(mailbox, "lock@example.com", subject="Reset your password"))[0]
        new = "a fresh passphrase, mended gate"
        assert (await client.post("/v1/auth/password/reset", json={
            "token": token_of(link.links[0]), "newPassword": new})).status_code == 200
        assert (await sign_in(client, "lock@example.com", password=new)).status_code == 200
        assert "auth.lockout.ended" in await audit.list_actions(user.id)


async def test_lockout_ends_by_itself_and_success_resets_the_count(settings, clock, mailbox):
    async with serving(settings.replace(rate_limit_signin="1000/minute"), clock) as client:
        await verified_user(client, mailbox, "ebb@example.com")
        for _ in range(9):
            await sign_in(client, "ebb@example.com", password="not it, not it!")
        assert (await sign_in(client, "ebb@example.com")).status_code == 200  # count reset
        for _ in range(10):
            await sign_in(client, "ebb@example.com", password="not it, not it!")
        assert (await sign_in(client, "ebb@example.com")).status_code == 401
        redis = Redis.from_url(settings.redis_url)
        await redis.delete("latchkey:locked:ebb@example.com")  # what Redis does at the TTL
        await redis.aclose()
        assert (await sign_in(client, "ebb@example.com", password=PASSWORD)).status_code == 200
        user = await users.get_by_email("ebb@example.com")
        assert (await audit.list_actions(user.id)).count("auth.lockout.ended") == 1


async def audit_reasons(user_id) -> list[str]:
    from db.tables import AuditEvent

    rows = await AuditEvent.select(AuditEvent.metadata).where(
        (AuditEvent.user_id == user_id) & (AuditEvent.action == "auth.signin.failed"))
    import json

    return [(json.loads(r["metadata"]) if isinstance(r["metadata"], str) else r["metadata"])
            ["reason"] for r in rows]
