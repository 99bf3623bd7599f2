"""The Piccolo engine: chosen by the composition root from ``Settings.database_url`` (SQLite
file by default, PostgreSQL in production) and bound to every table with :func:`bind`.

Piccolo tables look their engine up lazily, so nothing here reads the environment; the
engine is process-wide because Piccolo's tables are.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for SQLite's lock before failing

_bound: tuple[str, Engine] | None = None


def engine_from_url(url: str) -> Engine:
    """Return a Piccolo engine for ``sqlite:///relative/path``, ``sqlite:////abs/path``
    or ``postgres[ql]://user@host:port/db``. raises ValueError for other schemes."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT)
    if scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url}, extensions=())
    raise ValueError(f"DATABASE_URL must start with sqlite:// or postgres://, got {scheme!r}")


def bind(url: str) -> Engine:
    """Make the engine for ``url`` the one every table uses; binding the same URL again
    keeps the engine (and its pool). raises ValueError for an unknown scheme."""
    global _bound
    if _bound is None or _bound[0] != url:
        from db.tables import TABLES

        engine = engine_from_url(url)
        for table in TABLES:
            table._meta.db = engine
        _bound = (url, engine)
    return _bound[1]


def current() -> Engine:
    """The bound engine. raises RuntimeError before :func:`bind` (a wiring bug)."""
    if _bound is None:
        raise RuntimeError("no database engine bound: build the app through scripts.bootstrap")
    return _bound[1]


def in_transaction() -> bool:
    """True inside ``async with transaction():`` (Piccolo keeps it in a context variable)."""
    return current().current_transaction.get() is not None  # type: ignore[attr-defined]


def is_sqlite() -> bool:
    return isinstance(current(), SQLiteEngine)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is the driver's refusal of a row that breaks a unique index (a lost
    race the caller checked for first): asyncpg's UniqueViolationError (SQLSTATE 23505) or
    sqlite3's IntegrityError "UNIQUE constraint failed"."""
    import sqlite3

    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    return getattr(exc, "sqlstate", None) == "23505"


async def _keep_session(connection: object) -> None:
    """Pool ``reset`` hook that skips asyncpg's default reset query (RESET ALL, UNLISTEN *,
    CLOSE ALL, advisory unlock) on every release: latchkey never changes session state, and
    that extra round trip per query cost 8% of a refresh. asyncpg still rolls back any
    transaction left open before calling this."""


async def open_pool(max_size: int) -> bool:
    """Start the PostgreSQL connection pool (without one Piccolo connects per query).
    Returns True if this call started it, so only the starter closes it."""
    engine = current()
    if not isinstance(engine, PostgresEngine) or engine.pool is not None:
        return False
    await engine.start_connection_pool(min_size=1, max_size=max_size, reset=_keep_session)
    return True


async def close_pool() -> None:
    engine = current()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def ping() -> None:
    """One trivial query (readiness probe). raises the driver's error when it fails."""
    await current().run_ddl("SELECT 1")
