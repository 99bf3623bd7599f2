"""Fault case 6: the database is unreachable while the worker runs a job; the job is retried
with backoff and the message is delivered, once, when the database is back, and not before.

PostgreSQL: the worker reaches the server through a TCP proxy the test cuts (every open
connection closed, new ones dropped) and restores. SQLite has no server to lose: the test
holds the database's write lock (BEGIN EXCLUSIVE) while the job runs. OUTBOX_SWEEP_AFTER is
longer than the test, so only the job's own retries can deliver the message.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from urllib.parse import urlsplit, urlunsplit

from tests.environment import DATABASE_URL
from tests.fault.conftest import SystemFactory
from tests.fault.flows import eventually, job_keys, message_of, register
from tests.fault.system import WAIT, CuttableProxy, FaultySink

HOLD = 3.0  # seconds the database stays away once the job has hit it
SETTINGS = {"OUTBOX_SWEEP_AFTER": "600", "DELIVERY_RETRY_BASE": "0.2",
            "DELIVERY_MAX_TRIES": "12"}


def through(proxy: CuttableProxy) -> str:
    parts = urlsplit(DATABASE_URL)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else \
        f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def test_a_job_that_cannot_reach_the_database_is_retried_and_delivered_once_it_is_back(
        system: SystemFactory, sink: FaultySink) -> None:
    if DATABASE_URL.startswith("sqlite"):
        await _sqlite_locked(system, sink)
    else:
        await _postgres_unreachable(system, sink)
    await eventually(lambda: _sent("during@example.com"), "the row marked sent")
    assert len(sink.to("during@example.com")) == 1


async def _postgres_unreachable(system: SystemFactory, sink: FaultySink) -> None:
    parts = urlsplit(DATABASE_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    try:
        running = system(workers=0, **SETTINGS)  # the web process uses the server directly
        running.start_worker(DATABASE_URL=through(proxy))
        register(running.url, "before@example.com")
        sink.wait_for("before@example.com", timeout=WAIT)  # the worker's path works
        await eventually(lambda: _sent("before@example.com"), "the first row marked sent")

        proxy.cut()
        register(running.url, "during@example.com")
        row = await message_of("during@example.com")
        _, tries = job_keys(row["id"])
        # the job ran, failed to reach the database, and was tried again (not given up)
        await eventually(lambda: _at_least(running.redis.get(tries), 3), "three tries")
        assert proxy.refused >= 1
        await asyncio.sleep(HOLD)
        assert sink.to("during@example.com") == []  # nothing sent before the claim
        proxy.restore()
        sink.wait_for("during@example.com", timeout=WAIT)
        # (the proxy stays up until the row is marked: closing it earlier would cut that write)
        await eventually(lambda: _sent("during@example.com"), "the row marked sent")
        assert running.workers[0].poll() is None
    finally:
        proxy.close()


async def _sqlite_locked(system: SystemFactory, sink: FaultySink) -> None:
    running = system(**SETTINGS)
    register(running.url, "before@example.com")
    sink.wait_for("before@example.com", timeout=WAIT)
    await eventually(lambda: _sent("before@example.com"), "the first row marked sent")

    worker = running.workers[0]
    worker.send_signal(signal.SIGSTOP)  # so the job starts only once the lock is held
    try:
        register(running.url, "during@example.com")
        row = await message_of("during@example.com")
        lock = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
    finally:
        worker.send_signal(signal.SIGCONT)
    try:
        in_progress, _ = job_keys(row["id"])
        await eventually(lambda: _true(running.redis.exists(in_progress)), "the job started")
        held_until = time.monotonic() + HOLD
        while time.monotonic() < held_until:
            assert sink.to("during@example.com") == []  # nothing sent before the claim
            await asyncio.sleep(0.1)
    finally:
        lock.rollback()
        lock.close()
    sink.wait_for("during@example.com", timeout=WAIT)
    assert worker.poll() is None


async def _true(value: object) -> bool:
    return bool(value)


async def _at_least(value: bytes | None, count: int) -> bool:
    return value is not None and int(value) >= count


async def _sent(recipient: str) -> bool:
    return (await message_of(recipient))["status"] == "sent"
