"""Real processes for the attack tests (issue 15): the Procfile's web and worker over real
HTTP, on this run's database and Redis, with the session's SMTP sink.

``system``: every rate limit and the lockout out of reach, so no test trips over another's
load; a test about a limit starts a system with the limit it needs (``strict_system`` here,
or ``helpers.web_only`` in its own module). Both systems live for the whole package; their
two workers share the queue and either may deliver a message (same database, SMTP sink and
``APP_URL``), so tests read mail by recipient, never by order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import Redis

from db.engine import current
from db.tables import OutboxMessage
from scripts.mailbox import Mailbox
from tests.environment import REDIS_URL
from tests.processes import running_system
from tests.security.helpers import (
    OUT_OF_REACH,
    Victim,
    claims_of,
    new_email,
    signed_in,
    verified_account,
)

TABLES = ("audit_events", "outbox_messages", "one_time_tokens", "otp_codes", "refresh_tokens",
          "sessions", "users")  # as tests/conftest.py empties them


@pytest.fixture(scope="package")
async def emptied(schema: None) -> None:
    """Empty tables and Redis once for the package (tests.conftest's ``clean``, which is
    function-scoped): counters left by earlier packages must not decide a limit here."""
    for table in TABLES:
        await current().run_ddl(f"DELETE FROM {table}")
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


async def outbox_drained(within: float = 10.0) -> bool:
    """Wait until no outbox message is pending or sending; False if ``within`` s passed.

    Why: a worker stopped (SIGTERM) while a delivery job is inside a SQLite transaction
    leaves aiosqlite's non-daemon connection thread waiting for ever, so the process never
    exits, tests.processes.running_system gives up after 15 s and the worker is orphaned,
    still polling the test Redis. Stopping only once the queue is idle avoids that.
    """
    deadline = time.monotonic() + within
    busy = OutboxMessage.status.is_in(["pending", "sending"])
    while await OutboxMessage.count().where(busy):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.fixture(scope="package")
async def system(smtp: tuple[Mailbox, int], emptied: None) -> AsyncIterator[str]:
    """Web + worker with every limit out of reach; yields the base URL."""
    with running_system(smtp[1], **OUT_OF_REACH) as url:
        yield url
        await outbox_drained()


@pytest.fixture(scope="package")
async def strict_system(smtp: tuple[Mailbox, int], emptied: None) -> AsyncIterator[str]:
    """Web + worker with the lockout at 5 failures / 15 min, 3 current-password checks per
    session per hour, and bcrypt at cost 10 (100-200 ms a sign-in here), so a skipped check
    shows in the timing; per-IP limits stay out of reach."""
    with running_system(smtp[1], **{**OUT_OF_REACH, "LOCKOUT_THRESHOLD": "5",
                                    "RATE_LIMIT_REAUTH_PER_SESSION": "3/hour",
                                    "BCRYPT_ROUNDS": "10"}) as url:
        yield url
        await outbox_drained()


@pytest.fixture
def api(system: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system, timeout=15) as client:
        yield client


@pytest.fixture
def strict_api(strict_system: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_system, timeout=15) as client:
        yield client


@pytest.fixture
def box(smtp: tuple[Mailbox, int]) -> Mailbox:
    """The session's SMTP sink, not emptied (a package-scoped worker may still be sending
    an earlier test's mail); read it by recipient."""
    return smtp[0]


@pytest.fixture(scope="module")
def victim(system: str, smtp: tuple[Mailbox, int]) -> Victim:
    """A verified account signed in once on ``system``; its session stays live."""
    with httpx.Client(base_url=system, timeout=15) as api:
        email = new_email("victim")
        verified_account(api, smtp[0], email)
        pair = signed_in(api, email)
    return Victim(email, pair["accessToken"], pair["refreshToken"], claims_of(pair["accessToken"]))
