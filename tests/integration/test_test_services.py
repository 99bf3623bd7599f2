"""scripts/test's choice of Redis and PostgreSQL (scripts/test_services.py), against real
servers: a closed port, the PostgreSQL server of this run refusing a role, and a private
Redis. Nothing here touches a Redis or database the tests did not make."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest

from scripts import test_services
from scripts.embedded_redis import free_port
from scripts.test_services import Unusable, postgres, redis_url

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("TEST_DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not SERVER.startswith(("postgres://", "postgresql://")),
    reason="needs the PostgreSQL server of the PostgreSQL pass (TEST_DATABASE_URL)")


def on_server(user: str, database: str = "postgres") -> str:
    """A URL for ``user`` on this run's PostgreSQL server (no password)."""
    parts = urlparse(SERVER)
    return f"postgres://{user}@{parts.hostname}:{parts.port or 5432}/{database}"


def services(which: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m scripts.test_services <which>`` with TEST_* taken from ``env`` only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    return subprocess.run([sys.executable, "-m", "scripts.test_services", which], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_without_test_redis_url_no_redis_is_taken_not_even_6379():
    assert redis_url({}) is None
    assert redis_url({"TEST_REDIS_URL": ""}) is None
    result = services("redis")
    assert result.returncode == 0 and result.stdout == "\n"


def test_the_test_environment_starts_a_private_redis_when_none_is_given():
    code = "import tests.environment as e; print(e.REDIS_URL)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    url = urlparse(result.stdout.strip())
    assert url.hostname == "127.0.0.1" and url.port not in (None, 6379)


def test_a_given_redis_that_does_not_answer_is_one_line_not_a_traceback():
    with pytest.raises(Unusable, match="no Redis answers"):
        redis_url({"TEST_REDIS_URL": f"redis://127.0.0.1:{free_port()}/9"})
    result = services("redis", TEST_REDIS_URL=f"redis://127.0.0.1:{free_port()}/9")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_given_redis_that_answers_is_used():
    from tests.environment import REDIS_URL

    assert redis_url({"TEST_REDIS_URL": REDIS_URL}) == REDIS_URL


def test_nothing_listening_skips_the_postgres_pass_with_one_line():
    port = free_port()
    choice = postgres({}, local=f"postgres://postgres@127.0.0.1:{port}/postgres")
    assert choice.url is None
    assert choice.skip == (f"skipped the PostgreSQL pass: nothing listens on 127.0.0.1:{port}; "
                           f"{test_services.HOW_TO_RUN}")


def test_a_given_database_url_that_fails_is_an_error_of_one_line():
    url = f"postgres://postgres:secret@127.0.0.1:{free_port()}/postgres"
    result = services("postgres", TEST_DATABASE_URL=url)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "secret" not in result.stderr  # the password is never printed
    result = services("postgres", TEST_DATABASE_URL="sqlite:///elsewhere.sqlite3")
    assert result.returncode == 1 and "not a postgres:// URL" in result.stderr


@needs_postgres
def test_a_server_refusing_the_role_skips_the_postgres_pass():
    choice = postgres({}, local=on_server(f"nobody_{uuid.uuid4().hex[:8]}"))
    assert choice.url is None and choice.skip is not None
    assert "refused" in choice.skip and "does not exist" in choice.skip
    assert "\n" not in choice.skip


@needs_postgres
def test_a_role_that_may_not_create_databases_skips_the_postgres_pass():
    role = f"latchkey_nocreate_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(SERVER)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        choice = postgres({}, local=on_server(role))
    finally:
        asyncio.run(admin(f'DROP ROLE "{role}"'))
    assert choice.url is None and choice.skip is not None
    assert "refused" in choice.skip and "\n" not in choice.skip


@needs_postgres
def test_a_server_that_lets_us_create_a_database_is_used():
    assert postgres({}, local=SERVER).url == SERVER
    assert postgres({"TEST_DATABASE_URL": SERVER}, local="unused").url == SERVER
