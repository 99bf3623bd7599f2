"""A throwaway PostgreSQL database for one test or bench run, on the server of a given URL."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlparse, urlunparse


async def _execute(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create(server_url: str, prefix: str) -> str:
    """Create ``<prefix>_<random>`` on ``server_url``'s server; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    return urlunparse(urlparse(server_url)._replace(path=f"/{name}"))


def drop(database_url: str, server_url: str) -> None:
    """Drop the database of ``database_url``, ending any connection still open to it."""
    name = urlparse(database_url).path.lstrip("/")
    asyncio.run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
