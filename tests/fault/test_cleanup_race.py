"""Fault case 9: three cleanups at the same moment. Several workers each run the hourly cleanup
cron; arq's ``unique`` lets one of them have a given tick, but an external scheduler running
``python -m scripts.cleanup`` (or a slow run overlapping the next) has no such guard. Three
runs started together, made to race batch by batch, must end as one run would: every dead row
gone, counted once, and nothing unexpired deleted.

The three are released together: the test holds the first table's lock (SQLite: BEGIN
EXCLUSIVE; PostgreSQL: LOCK TABLE) until all three wait on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db.repositories.maintenance import EXPIRED_ROWS
from db.tables import AuditEvent, User
from domain.settings import Settings
from tests.environment import DATABASE_URL
from tests.fault.flows import eventually
from tests.fault.system import WAIT
from tests.processes import wait_until
from tests.support import MutableClock, bearer, sign_in, verified_user

TABLES = tuple(EXPIRED_ROWS)  # one_time_tokens first: the table the runs queue up on
SEEDED = ("one_time_tokens", "otp_codes", "sessions", "outbox_messages")
RUNS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The in-process app that seeds the rows: enough registrations and resets from one IP."""
    return settings.replace(rate_limit_register="100/hour", rate_limit_password_forgot="100/hour")


async def ids(table: str) -> set[str]:
    return {str(r["id"]) for r in await AuditEvent.raw(f"SELECT id FROM {table}")}


async def snapshot() -> dict[str, set[str]]:
    return {table: await ids(table) for table in TABLES}


async def seed(client: Any, mailbox: Any, prefix: str, count: int) -> None:
    """Accounts with what they leave behind: a used verification link, an unused reset link,
    a contact code, a session (and its refresh token), the messages sent to them."""
    for n in range(count):
        email = f"{prefix}{n}@example.com"
        await verified_user(client, mailbox, email)
        signed_in = await sign_in(client, email)
        assert signed_in.status_code == 200
        await client.post("/v1/auth/password/forgot", json={"email": email})
        code = await client.post("/v1/notifications/verification/send", json={"method": "email"},
                                 headers=bearer(signed_in.json()["accessToken"]))
        assert code.status_code == 202, code.text


async def test_three_cleanups_at_once_delete_what_one_would_and_nothing_unexpired(
        client: Any, clock: MutableClock, mailbox: Any) -> None:
    today = clock.now
    clock.now = today - timedelta(days=40)  # all of it dead by today (sent 40 days ago, too)
    await seed(client, mailbox, "old", 6)
    await eventually(_all_sent, "the old messages sent")
    dead = await snapshot()
    clock.now = today
    await seed(client, mailbox, "new", 3)
    await eventually(_all_sent, "the new messages sent")
    alive = {table: rows - dead[table] for table, rows in (await snapshot()).items()}
    assert all(dead[t] and alive[t] for t in SEEDED), (dead, alive)
    users, audit = await User.count(), await AuditEvent.count()

    results = await asyncio.to_thread(run_together) if DATABASE_URL.startswith("sqlite") \
        else await run_together_on_postgres()

    assert await snapshot() == alive, "every dead row gone, every live one kept"
    for table in TABLES:
        assert sum(r[table] for r in results) == len(dead[table]), (table, results)
    assert sum(any(r.values()) for r in results) >= 2, f"the runs did not interleave: {results}"
    assert await User.count() == users and await AuditEvent.count() == audit


def start_runs() -> list[subprocess.Popen[str]]:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "ENVIRONMENT": "test",
           "CLEANUP_BATCH_SIZE": "2", "CLEANUP_PAUSE": "0.05"}  # small batches, interleaved
    return [subprocess.Popen([sys.executable, "-m", "scripts.cleanup"], env=env,
                             stdout=subprocess.PIPE, text=True) for _ in range(RUNS)]


def results_of(runs: list[subprocess.Popen[str]]) -> list[dict[str, int]]:
    outputs = [run.communicate(timeout=WAIT)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * RUNS, outputs
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def run_together() -> list[dict[str, int]]:
    """SQLite: the runs queue on the write lock the test holds until each has the file open."""
    path = DATABASE_URL.removeprefix("sqlite:///")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        runs = start_runs()
        _wait_open(runs, Path(path))
    finally:
        lock.rollback()
        lock.close()
    return results_of(runs)


def _wait_open(runs: list[subprocess.Popen[str]], path: Path) -> None:
    def opened(run: subprocess.Popen[str]) -> bool:
        fds = Path(f"/proc/{run.pid}/fd")
        try:
            return any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir())
        except (FileNotFoundError, PermissionError):
            return False

    wait_until(lambda: all(opened(run) for run in runs), "three runs waiting for the lock", WAIT)


async def run_together_on_postgres() -> list[dict[str, int]]:
    """PostgreSQL: the runs queue on a lock of the first table until all three wait on it."""
    lock = await asyncpg.connect(DATABASE_URL)
    try:
        async with lock.transaction():
            await lock.execute(f"LOCK TABLE {TABLES[0]} IN ACCESS EXCLUSIVE MODE")
            runs = start_runs()

            async def all_waiting() -> bool:  # pg_locks: pg_stat_activity is a snapshot
                return await lock.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    f" AND relation = '{TABLES[0]}'::regclass") == RUNS

            await eventually(all_waiting, "three runs waiting for the lock")
    finally:
        await lock.close()
    return await asyncio.to_thread(results_of, runs)


async def _all_sent() -> bool:
    rows = await AuditEvent.raw("SELECT count(*) AS n FROM outbox_messages WHERE status <> 'sent'")
    return rows[0]["n"] == 0
