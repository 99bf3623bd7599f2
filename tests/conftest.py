"""Fixtures with real parts: SQLite or PostgreSQL, Redis, an aiosmtpd SMTP sink, arq."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import Redis

from db.engine import current
from domain.settings import Settings
from scripts.mailbox import Mailbox
from scripts.migrate import migrate
from scripts.twilio_stub import TwilioStub
from tests.environment import DATABASE_URL, REDIS_URL
from tests.support import MutableClock, serving

TABLES = ("audit_events", "outbox_messages", "one_time_tokens", "otp_codes", "refresh_tokens",
          "sessions", "totp_credentials", "backup_codes", "two_factor_challenges",
          "push_devices", "notification_preferences", "sso_logins", "identity_links",
          "sso_domains", "sso_connections", "scim_tokens", "team_memberships", "teams",
          "invitations", "memberships", "organizations", "users")


# Suites that do not depend on the database engine (browsers on hosted pages, the benchmark
# harness, SCIM protocol conformance, logs and metrics, HTTP headers, SMTP and Twilio faults)
# run once, in the SQLite pass: scripts/test runs pytest on SQLite, then on PostgreSQL, and
# the second pass keeps everything that reads or writes through the engine.
ENGINE_INDEPENDENT = (
    "tests/browser/", "tests/e2e/test_bench_harness.py", "tests/e2e/test_scim_conformance.py",
    "tests/e2e/test_metrics_multiprocess.py", "tests/e2e/test_no_secrets_in_logs.py",
    "tests/security/test_headers.py", "tests/security/test_csrf.py",
    "tests/security/test_cookies.py", "tests/fault/test_smtp_outage.py",
    "tests/fault/test_provider_errors.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if DATABASE_URL.startswith("sqlite"):
        return
    skip = pytest.mark.skip(reason="engine-independent; runs in the SQLite pass")
    for item in items:
        if item.nodeid.split("::", 1)[0].startswith(ENGINE_INDEPENDENT):
            item.add_marker(skip)


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


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[TwilioStub]:
    stub = TwilioStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def twilio(twilio_server: TwilioStub) -> TwilioStub:
    """The local Twilio stub, emptied: ``twilio.wait_for(number)``, ``twilio.replies``."""
    twilio_server.reset()
    return twilio_server


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
def settings(smtp: tuple[Mailbox, int], twilio_server: TwilioStub, clean: None) -> Settings:
    return Settings(
        environment="test", database_url=DATABASE_URL, redis_url=REDIS_URL,
        smtp_port=smtp[1], bcrypt_rounds=4, delivery_retry_base=0.05,
        app_url="https://app.example.test", twilio_account_sid=twilio_server.account_sid,
        twilio_auth_token=twilio_server.auth_token, twilio_from_number="+15005550006",
        twilio_api_base_url=twilio_server.base_url,
    )


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings, clock) as test_client:
        yield test_client


@pytest.fixture
async def person(client: httpx.AsyncClient, settings: Settings, clock: MutableClock):
    """``await person(email, name=None)`` -> (user id, Bearer headers): a verified personal
    account with PASSWORD written straight to the database (registration is tested
    elsewhere), signed in on ``client``."""
    from db.repositories import users
    from domain.passwords.hashing import PasswordHasher
    from tests.support import PASSWORD, bearer, sign_in

    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()

    async def make(email: str, name: str | None = None) -> tuple[uuid.UUID, dict[str, str]]:
        user = await users.insert(email=email, password_hash=password_hash, name=name,
                                  now=clock(), verified=True)
        pair = (await sign_in(client, email)).json()
        return user.id, bearer(pair["accessToken"])

    return make
