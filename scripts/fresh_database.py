"""A throwaway PostgreSQL database for one test or bench run, on the server of a given URL."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlparse, urlunparse

CONNECT_TIMEOUT = 5.0  # seconds; something on the port that never answers must not hang a run


async def _execute(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=CONNECT_TIMEOUT)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create(server_url: str, prefix: str) -> str:
    """Create ``<prefix>_<random>`` on ``server_url``'s server, connected to the database that
    URL names (``postgres`` exists on every server); return the new database's URL. raises
    OSError (no server), asyncpg.PostgresError (refused: auth, no such database or role, no
    CREATEDB privilege), TimeoutError."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    return urlunparse(urlparse(server_url)._replace(path=f"/{name}"))


def drop(database_url: str, server_url: str) -> None:
    """Drop the database of ``database_url``, ending any connection still open to it."""
    name = urlparse(database_url).path.lstrip("/")
    asyncio.run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
