"""The scheduled cleanup deletes single sign-on attempts (``sso_logins``) an hour after both
their state and their one-time code expired, in batches, and keeps every other attempt
(issue 14; domain.maintenance.SSO_LOGINS_KEPT). Time moves with the injected clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

from db.tables import SsoLogin
from domain.maintenance import SSO_LOGINS_KEPT, delete_expired


async def attempt(clock, *, state_ttl: int = 600, code_ttl: int | None = None) -> uuid.UUID:
    """An attempt started now: state valid ``state_ttl`` s; with ``code_ttl``, called back at
    once (a code that expires then, possibly after the state)."""
    now = clock()
    login_id = uuid.uuid4()
    await SsoLogin.insert(SsoLogin(
        id=login_id, state_hash=uuid.uuid4().hex, organization_id=None,
        redirect_to="https://app.example.test/auth/sso", created_at=now,
        expires_at=now + timedelta(seconds=state_ttl),
        state_used_at=now if code_ttl is not None else None,
        code_hash=uuid.uuid4().hex if code_ttl is not None else None,
        code_expires_at=now + timedelta(seconds=code_ttl) if code_ttl is not None else None))
    return login_id


async def left() -> set[uuid.UUID]:
    return {row["id"] for row in await SsoLogin.select(SsoLogin.id)}


async def test_expired_attempts_go_an_hour_after_state_and_code_expired(settings, clock):
    abandoned = await attempt(clock)  # never called back: dead after 10 min
    late_code = await attempt(clock, state_ttl=60, code_ttl=900)  # code outlives the state
    clock.advance(minutes=5)
    fresh = await attempt(clock)

    clock.advance(seconds=300 + SSO_LOGINS_KEPT - 1)  # the abandoned one: within the margin
    assert (await delete_expired(settings, clock))["sso_logins"] == 0
    clock.advance(seconds=2)
    assert (await delete_expired(settings, clock))["sso_logins"] == 1
    assert await left() == {late_code, fresh}  # the state expired long ago, the code not

    clock.advance(minutes=5)  # fresh's state and late_code's code now past the margin
    assert (await delete_expired(settings, clock))["sso_logins"] == 2
    assert await left() == set()
    assert abandoned not in await left()


async def test_many_expired_attempts_go_in_batches(settings, clock):
    settings = settings.replace(cleanup_batch_size=3, cleanup_pause=0)
    for _ in range(7):
        await attempt(clock, code_ttl=60)
    clock.advance(seconds=600 + SSO_LOGINS_KEPT + 1)
    kept = await attempt(clock)
    assert (await delete_expired(settings, clock))["sso_logins"] == 7
    assert await left() == {kept}
