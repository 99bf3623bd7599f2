"""db/transaction.py lets go of its connection whatever happens: a SQLite ``BEGIN IMMEDIATE``
that gives up on a locked database, a task cancelled during ``BEGIN``, a query, ``COMMIT``
or ``ROLLBACK`` (a worker job cancelled on SIGTERM). Piccolo's own transactions kept the
connection in those cases: an aiosqlite thread that kept the process from exiting, an asyncpg
connection that made the pool's ``close()`` wait forever (the worker that ignored SIGTERM).

Each test uses an engine of its own (a SQLite file in tmp_path, or a small pool on this run's
PostgreSQL database), so closing it or locking it disturbs nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from db.transaction import transaction
from tests.environment import DATABASE_URL

ON_POSTGRES = DATABASE_URL.startswith("postgres")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")


def sqlite_threads() -> set[threading.Thread]:
    """aiosqlite's connection threads alive now (one per open connection)."""
    return {t for t in threading.enumerate()
            if "_connection_worker_thread" in t.name and t.is_alive()}


async def no_new_sqlite_threads(before: set[threading.Thread], within: float = 3.0) -> None:
    for _ in range(int(within / 0.02)):
        if not sqlite_threads() - before:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"aiosqlite connections left open: {sqlite_threads() - before}")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "probe.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE transaction_probe (n INTEGER PRIMARY KEY)")
    return path


async def test_a_begin_that_fails_on_a_locked_sqlite_database_closes_its_connection(
        sqlite_file: Path) -> None:
    engine = SQLiteEngine(path=str(sqlite_file), timeout=0.1)  # busy timeout: 0.1 s
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    before = sqlite_threads()
    try:
        for _ in range(3):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                async with transaction(engine):
                    raise AssertionError("BEGIN IMMEDIATE cannot succeed")
        await no_new_sqlite_threads(before)
    finally:
        holder.rollback()
        holder.close()
    async with transaction(engine) as tx:  # the lock is free: the engine works as before
        await tx.connection.execute("INSERT INTO transaction_probe VALUES (1)")
    assert tx.committed
    await no_new_sqlite_threads(before)


async def test_a_task_cancelled_while_begin_waits_for_the_sqlite_lock_ends_at_once(
        sqlite_file: Path) -> None:
    """A worker job cancelled on SIGTERM while its BEGIN IMMEDIATE waits for the lock: the
    task ends at once (it does not wait out the busy timeout), and the connection is closed
    as soon as that wait ends."""
    engine = SQLiteEngine(path=str(sqlite_file), timeout=5.0)
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    before = sqlite_threads()
    try:
        task = asyncio.create_task(_begin_only(engine))
        await asyncio.sleep(0.2)  # waiting for the lock
        task.cancel()
        stopped = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1)
        assert asyncio.get_running_loop().time() - stopped < 0.5
    finally:
        holder.rollback()  # the wait ends: BEGIN succeeds, then the queued close runs
        holder.close()
    await no_new_sqlite_threads(before)


class Probe:
    """One engine of the current kind with a ``transaction_probe`` table, and its SQL."""

    def __init__(self, engine: Any, placeholder: str) -> None:
        self.engine, self.placeholder = engine, placeholder

    async def insert(self, tx: Any, n: int) -> None:
        sql = f"INSERT INTO transaction_probe VALUES ({self.placeholder})"
        if ON_POSTGRES:
            await tx.connection.execute(sql, n)
        else:
            await tx.connection.execute(sql, (n,))

    async def stored(self) -> set[int]:
        rows = await self.engine.run_ddl("SELECT n FROM transaction_probe")
        return {row["n"] for row in rows}


@pytest.fixture
async def probe(sqlite_file: Path) -> AsyncIterator[Probe]:
    if not ON_POSTGRES:
        yield Probe(SQLiteEngine(path=str(sqlite_file)), "?")
        return
    engine = PostgresEngine(config={"dsn": DATABASE_URL}, extensions=())
    await engine.run_ddl("CREATE TABLE IF NOT EXISTS transaction_probe (n INTEGER PRIMARY KEY)")
    await engine.start_connection_pool(min_size=1, max_size=2)
    yield Probe(engine, "$1")
    if engine.pool is not None:
        await asyncio.wait_for(engine.close_connection_pool(), 5)  # terminates if it failed
    await engine.run_ddl("DROP TABLE transaction_probe")


async def test_a_transaction_cancelled_at_any_point_lets_go_and_knows_if_it_committed(
        probe: Probe) -> None:
    """Cancelled after 0 to 20 ms: before the connection, during BEGIN, the INSERT, COMMIT
    or after; each time the row is stored exactly when ``committed`` says so."""
    before = sqlite_threads()
    transactions: dict[int, Any] = {}

    async def write(n: int) -> None:
        transactions[n] = tx = transaction(probe.engine)
        async with tx:
            await probe.insert(tx, n)

    for n in range(120):
        task = asyncio.create_task(write(n))
        await asyncio.sleep((n % 40) * 0.0005)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stored = await probe.stored()
    committed = {n for n, tx in transactions.items() if tx.committed}
    assert stored == committed
    assert 0 < len(committed) < 120  # both cases happened
    if ON_POSTGRES:  # every connection is back: close() does not wait, the pool has both
        pool = probe.engine.pool
        assert pool.get_idle_size() == pool.get_size()
        await asyncio.wait_for(probe.engine.close_connection_pool(), 5)
    else:
        await no_new_sqlite_threads(before)


@postgres_only
async def test_a_postgres_transaction_cancelled_during_begin_releases_its_connection() -> None:
    """The worker's hang, step by step: a job cancelled right after its transaction took a
    pooled connection, while ``BEGIN`` is on the wire. The pool (one connection) serves the
    next transaction and closes at once."""
    cancel_next = True

    async def setup(connection: Any) -> None:  # asyncpg runs it on every acquire
        nonlocal cancel_next
        if cancel_next:
            cancel_next = False
            current = asyncio.current_task()
            assert current is not None
            current.cancel()  # delivered at the next await: BEGIN

    engine = PostgresEngine(config={"dsn": DATABASE_URL}, extensions=())
    await engine.start_connection_pool(min_size=1, max_size=1, setup=setup)
    try:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.create_task(_begin_only(engine))
        assert (await asyncio.wait_for(_select_one(engine), 5)).committed
    finally:
        await asyncio.wait_for(engine.close_connection_pool(), 5)


async def _begin_only(engine: Any) -> None:
    async with transaction(engine):
        raise AssertionError("cancelled before the body")


async def _select_one(engine: PostgresEngine) -> Any:
    async with transaction(engine) as tx:
        await tx.connection.execute("SELECT 1")
    return tx
