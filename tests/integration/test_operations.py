"""Health, readiness, OpenAPI, migrations on fresh databases, cleanup, startup refusal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

from api.app import create_app
from db.tables import OneTimeToken, Session
from domain.maintenance import delete_expired
from domain.settings import Settings
from scripts.embedded_redis import EmbeddedRedis, free_port
from tests.environment import DATABASE_URL
from tests.support import (
    lifespan,
    register,
    running_worker,
    serving,
    sign_in,
    verified_user,
    wait_mail,
)


async def test_health_ready_and_schema(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    for _ in range(100):  # the worker's first poll writes its heartbeat
        if (await client.get("/ready")).status_code == 200:
            break
        await asyncio.sleep(0.02)
    assert (await client.get("/ready")).json() == {"status": "ok"}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/v1/auth/refresh" in schema.json()["paths"]
    assert (await client.get("/nowhere")).json()["type"] == "not_found"


async def test_ready_names_redis_when_it_is_down(settings, clock):
    server = EmbeddedRedis().start()
    app = create_app(settings.replace(redis_url=server.url), clock)
    async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                base_url="http://testserver") as client:
        server.stop()
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]


async def test_ready_names_the_worker_when_none_polls(settings, clock):
    async with serving(settings, clock, worker=False) as client:
        response = await client.get("/ready")
        assert response.status_code == 503
        assert response.json()["failed"] == ["worker"]
        async with running_worker(settings, clock):
            for _ in range(100):
                if (await client.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.02)
            assert (await client.get("/ready")).status_code == 200
        # heartbeats are wall time (they cross processes): with max age 0 the last one is old
        stale = settings.replace(worker_heartbeat_max_age=0)
    async with serving(stale, clock, worker=False) as client:
        await asyncio.sleep(0.01)
        assert (await client.get("/ready")).json()["failed"] == ["worker"]


def run_module(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_migrations_apply_to_a_fresh_sqlite_database(tmp_path):
    path = tmp_path / "fresh.sqlite3"
    result = run_module("scripts.migrate", {"DATABASE_URL": f"sqlite:///{path}"})
    assert result.returncode == 0, result.stderr
    again = run_module("scripts.migrate", {"DATABASE_URL": f"sqlite:///{path}"})
    assert again.returncode == 0  # idempotent


@pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="PostgreSQL run only")
def test_migrations_apply_to_a_fresh_postgres_database():
    # the session fixture applied every migration to this run's fresh database; applying
    # again must be a no-op
    assert run_module("scripts.migrate", {"DATABASE_URL": DATABASE_URL}).returncode == 0


def test_production_refuses_to_start_without_strong_secrets():
    code = "from api.app import create_app; create_app()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "ENVIRONMENT": "production", "JWT_SECRET": "short"},
                            timeout=60, check=False)
    assert result.returncode != 0
    assert "JWT_SECRET must be set to a random value of at least 32 bytes" in result.stderr
    assert "PASSWORD_PEPPER" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("code", ["from api.app import create_app; create_app()",
                                  "import worker.settings"])
def test_processes_refuse_to_start_on_default_settings(code):
    """A deploy that forgets ENVIRONMENT and the secrets must not sign with the repo's key."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENVIRONMENT", "JWT_SECRET", "PASSWORD_PEPPER", "ENCRYPTION_KEY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "ENCRYPTION_KEY must be set" in result.stderr
    assert "python -m scripts.secrets" in result.stderr


def test_secrets_command_prints_values_the_settings_accept():
    result = subprocess.run([sys.executable, "-m", "scripts.secrets"], capture_output=True,
                            text=True, timeout=60, check=True)
    values = dict(line.split("=", 1) for line in result.stdout.split())
    assert set(values) == {"JWT_SECRET", "PASSWORD_PEPPER", "ENCRYPTION_KEY"}
    assert Settings.from_env({**values, "ENVIRONMENT": "production"}).environment == "production"


async def test_cleanup_deletes_expired_tokens_and_dead_sessions(client, mailbox, settings, clock):
    await verified_user(client, mailbox, "tidy@example.com")  # leaves one used token
    pair = (await sign_in(client, "tidy@example.com")).json()
    await register(client, "pending@example.com")  # one unused token, valid 24 h
    await wait_mail(mailbox, "pending@example.com")
    nothing = {"one_time_tokens": 0, "otp_codes": 0, "two_factor_challenges": 0, "sessions": 0,
               "outbox_messages": 0, "sso_logins": 0}
    assert await delete_expired(settings, clock) == nothing
    clock.advance(hours=25)  # both verification links expired, the session lives on
    assert await delete_expired(settings, clock) == {**nothing, "one_time_tokens": 2}
    clock.advance(days=7)
    assert await delete_expired(settings, clock) == {**nothing, "sessions": 1}
    clock.advance(days=30)  # sent messages outlive their retention
    assert (await delete_expired(settings, clock))["outbox_messages"] == 3
    assert await OneTimeToken.count() == 0 and await Session.count() == 0
    assert (await client.post("/v1/auth/refresh",
                              json={"refreshToken": pair["refreshToken"]})).status_code == 401


def test_the_cleanup_command_needs_only_the_database():
    """A Redis outage must not stop the hourly cleanup run by an external scheduler."""
    result = run_module("scripts.cleanup", {"DATABASE_URL": DATABASE_URL,
                                            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert result.returncode == 0, result.stderr
    assert "one_time_tokens" in result.stdout
