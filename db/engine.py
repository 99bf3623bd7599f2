"""The Piccolo engine, chosen from ``DATABASE_URL`` (SQLite file by default, PostgreSQL in
production).

Piccolo binds tables to an engine when they are imported, so this module reads the one
variable it needs at import time; everything else comes through Settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from domain.settings import DEFAULT_DATABASE_URL

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for SQLite's lock before failing


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


DB = engine_from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def is_sqlite() -> bool:
    return isinstance(DB, SQLiteEngine)


async def _keep_session(connection: object) -> None:
    """Pool ``reset`` hook that skips asyncpg's default reset query (RESET ALL, UNLISTEN *,
    CLOSE ALL, advisory unlock) on every release: latchkey never changes session state, and
    that extra round trip per query cost 8% of a refresh. asyncpg still rolls back any
    transaction left open before calling this."""


async def open_pool(max_size: int) -> bool:
    """Start the PostgreSQL connection pool (without one Piccolo connects per query).
    Returns True if this call started it, so only the starter closes it."""
    if is_sqlite() or DB.pool is not None:  # type: ignore[attr-defined]
        return False
    await DB.start_connection_pool(  # type: ignore[attr-defined]
        min_size=1, max_size=max_size, reset=_keep_session)
    return True


async def close_pool() -> None:
    await DB.close_connection_pool()  # type: ignore[attr-defined]
