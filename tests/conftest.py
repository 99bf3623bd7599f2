"""Fixtures with real parts: SQLite or PostgreSQL, Redis, an aiosmtpd SMTP sink, arq."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import Redis

from db.engine import current
from domain.settings import Settings
from scripts.mailbox import Mailbox
from scripts.migrate import migrate
from tests.environment import DATABASE_URL, REDIS_URL
from tests.support import MutableClock, serving

TABLES = ("audit_events", "outbox_messages", "one_time_tokens", "otp_codes", "refresh_tokens",
          "sessions", "users")


@pytest.fixture(scope="session", autouse=True)
async def schema() -> None:
    """Every migration applied to a fresh database: the migration test of each engine."""
    assert await migrate(Settings(environment="test", database_url=DATABASE_URL,
                                  redis_url=REDIS_URL))
    engine = current()
    bound = getattr(engine, "path", None) or engine.config["dsn"]  # type: ignore[attr-defined]
    assert bound == DATABASE_URL.removeprefix("sqlite:///"), f"engine bound to {bound}"


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = mailbox.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    box = smtp[0]
    box.received.clear()
    box.replies.clear()
    box.refused = 0
    return box


@pytest.fixture
async def clean() -> None:
    for table in TABLES:
        await current().run_ddl(f"DELETE FROM {table}")
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def settings(smtp: tuple[Mailbox, int], clean: None) -> Settings:
    return Settings(
        environment="test", database_url=DATABASE_URL, redis_url=REDIS_URL,
        smtp_port=smtp[1], bcrypt_rounds=4, delivery_retry_base=0.05,
        app_url="https://app.example.test",
    )


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings, clock) as test_client:
        yield test_client
