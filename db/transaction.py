"""One helper for every multi-step write: a single database transaction whose connection is
always let go of, and whose end is not cut short by a cancellation.

Piccolo's transactions release their connection only when ``BEGIN`` and ``COMMIT`` or
``ROLLBACK`` succeed. A failure or a cancellation at those points (a worker job cancelled on
SIGTERM while it claimed a message, SQLite's ``BEGIN IMMEDIATE`` giving up on a locked
database) kept the connection forever: on PostgreSQL the asyncpg pool's ``close()`` then
waited for it without end (seen as a worker that ignored SIGTERM), on SQLite the
connection's aiosqlite thread (not a daemon) kept the process from exiting. Here:

* ``__aenter__`` failing after the connection was taken closes (SQLite) or releases
  (PostgreSQL) it before the error propagates (SQLite, cancelled: the close is queued and
  happens when the statement under way ends, without waiting for it);
* ``COMMIT``, ``ROLLBACK`` and the release run to their end even if the task is cancelled
  meanwhile (for at most :data:`END_WITHIN` seconds), then the cancellation propagates; so a
  transaction cancelled while it commits is either committed or rolled back, never unknown,
  and :attr:`committed` tells which.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from db.engine import current

END_WITHIN = 5.0  # seconds a cancelled task still gives a commit, rollback or release

T = TypeVar("T")


async def to_completion(step: Awaitable[T], within: float = END_WITHIN) -> T:
    """Await ``step``; if the calling task is cancelled meanwhile (once or again and again),
    keep waiting for it up to ``within`` more seconds (then cancel it) and re-raise the
    cancellation. Returns ``step``'s result or raises its error. For writes whose outcome must
    be known when a task is stopped: a commit, a rollback, a message's status."""
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.done():
            raise
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done() and (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait({task}, timeout=left)
        except asyncio.CancelledError:
            continue
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()  # looked at: a step that failed as we stop is not "never retrieved"
    raise asyncio.CancelledError


class _LetsGo:
    """Mixed into Piccolo's transaction classes (which define ``engine``, ``connection``,
    ``_parent``, ``context``, ``commit``, ``rollback``, ``_committed``, ``_rolled_back``)."""

    engine: Any
    _parent: Any
    _committed: bool
    _rolled_back: bool

    @property
    def committed(self) -> bool:
        """True once ``COMMIT`` succeeded (also when the task was cancelled during it)."""
        return self._committed

    async def _let_go(self) -> None:
        raise NotImplementedError

    async def _give_up(self, error: BaseException) -> None:
        """``__aenter__`` failed after the connection was taken."""
        await to_completion(self._let_go())

    async def __aenter__(self) -> Any:
        try:
            return await super().__aenter__()  # type: ignore[misc]
        except BaseException as error:
            if self._parent is None and getattr(self, "connection", None) is not None:
                await self._give_up(error)
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        if self._parent is not None:
            return exc is None
        try:
            if exc is not None:
                if not self._rolled_back:
                    await to_completion(self.rollback())  # type: ignore[attr-defined]
            elif not self._committed and not self._rolled_back:
                await to_completion(self.commit())  # type: ignore[attr-defined]
        finally:
            try:
                await to_completion(self._let_go())
            finally:
                self.engine.current_transaction.reset(self.context)  # type: ignore[attr-defined]
        return exc is None


class _PostgresTransaction(_LetsGo, PostgresTransaction):
    async def _let_go(self) -> None:
        if self.engine.pool:  # asyncpg resets (or drops) a connection left mid-transaction
            await self.engine.pool.release(self.connection)
            return
        try:
            await self.connection.close()
        except BaseException:
            self.connection.terminate()
            raise


class _SQLiteTransaction(_LetsGo, SQLiteTransaction):
    async def get_connection(self) -> Any:
        """Piccolo's SQLiteEngine.get_connection, with the connection held by the
        transaction from the moment it exists (so a failing PRAGMA closes it too)."""
        self.connection = await aiosqlite.connect(**self.engine.connection_kwargs)
        self.connection.row_factory = dict_factory
        await self.connection.execute("PRAGMA foreign_keys = 1")
        return self.connection

    async def _let_go(self) -> None:
        await self.connection.close()  # rolls back what was not committed; stops its thread

    async def _give_up(self, error: BaseException) -> None:
        if isinstance(error, asyncio.CancelledError):
            # Cancelled in BEGIN IMMEDIATE, which may be waiting for the write lock (up to the
            # busy timeout; sqlite3's interrupt() does not end that wait): the close is
            # queued behind it and ends the thread then, without the task waiting for it.
            self.connection.stop()
            return
        await super()._give_up(error)


def transaction(engine: Engine | None = None) -> Any:
    """Open a transaction usable as ``async with transaction():`` on ``engine`` (default: the
    bound one). Nested uses join the outer transaction (Piccolo's rule).

    SQLite: ``BEGIN IMMEDIATE`` so read-then-write sequences take the write lock up front and
    cannot deadlock or lose updates (ARCHITECTURE.md). PostgreSQL: a pooled connection, READ
    COMMITTED; races are closed by conditional ``UPDATE ... WHERE`` clauses and row locks.
    Either way the connection is let go of whatever happens (module docstring); raises the
    driver's errors, e.g. sqlite3.OperationalError "database is locked".
    """
    engine = engine or current()
    if isinstance(engine, SQLiteEngine):
        return _SQLiteTransaction(engine, transaction_type=TransactionType.immediate)
    if isinstance(engine, PostgresEngine):
        return _PostgresTransaction(engine)
    return engine.transaction()
