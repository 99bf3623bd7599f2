"""Fault case 9 as the issue states it: three worker processes, the cleanup cron on the same
tick. arq's ``unique`` cron lets exactly one of them run a tick, so the result is one run's:
every expired row gone, nothing unexpired touched, one result for the tick."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from db.repositories import one_time_tokens, users
from db.tables import OneTimeToken
from tests.fault.flows import eventually


async def seed(now: datetime) -> tuple[set[str], set[str]]:
    """Expired and live one-time tokens of one account: (expired ids, live ids) as hashes."""
    user = await users.insert(email=f"cron{uuid.uuid4().hex[:6]}@example.com",
                              password_hash="x" * 60, name=None, now=now)
    expired, live = set(), set()
    for n in range(30):
        token_hash = uuid.uuid4().hex + uuid.uuid4().hex
        gone = n % 3 != 0
        await one_time_tokens.add(
            user_id=user.id, purpose="verify_email", token_hash=token_hash, now=now,
            expires_at=now + timedelta(hours=-2 if gone else 2), supersede=False)
        (expired if gone else live).add(token_hash)
    return expired, live


async def hashes() -> set[str]:
    return {r["token_hash"] for r in await OneTimeToken.select(OneTimeToken.token_hash)}


async def test_three_workers_run_one_cleanup_per_tick(system: Any) -> None:
    expired, live = await seed(datetime.now(UTC))
    tick = (int(time.time()) + 20) % 60  # after the three workers are up
    made = system(workers=3, CLEANUP_CRON_MINUTE="-1", CLEANUP_CRON_SECOND=str(tick))
    results = "arq:result:cron:delete_expired:*"

    async def ran() -> bool:
        return bool(made.redis.keys(results))

    await eventually(ran, "the cleanup tick", within=60)
    await eventually(lambda: _gone(expired), "the expired rows deleted", within=10)
    assert live <= await hashes()  # nothing unexpired touched
    assert len(made.redis.keys(results)) == 1  # one run for the tick, not three
    assert all(worker.poll() is None for worker in made.workers)


async def _gone(expired: set[str]) -> bool:
    return not (expired & await hashes())
