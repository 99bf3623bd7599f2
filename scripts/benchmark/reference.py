"""The database's own ceiling for a refresh rotation: the same statements as
domain.sessions.refresh, in one transaction, on raw asyncpg (no HTTP, no ORM)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

ROTATE = [
    "SELECT rt.id, rt.session_id, rt.rotated_at, s.user_id, s.expires_at, s.revoked_at, "
    "u.is_active FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id "
    "JOIN users u ON u.id = s.user_id WHERE rt.token_hash = $1 FOR UPDATE OF rt",
    "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1 AND rotated_at IS NULL",
    "INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at) "
    "VALUES (gen_random_uuid(), $1, $2, $3, now())",
    "UPDATE sessions SET last_used_at = now(), expires_at = now() + interval '7 days' "
    "WHERE id = $1",
    "SELECT id, email, name FROM users WHERE id = $1",
]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _one_statement() -> str:
    """The app's own rotation statement (db.repositories.sessions), in asyncpg's $n style."""
    from db.repositories.sessions import ROTATE_CURRENT

    parts = ROTATE_CURRENT.split("{}")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


async def rotations_per_second(database_url: str, tokens: list[str], seconds: float,
                               concurrency: int = 64, one_statement: bool = False) -> float:
    """Rotations/s with ``concurrency`` chains, one per seeded session token: the classic
    five statements in a transaction, or (``one_statement``) the app's single CTE."""
    import datetime
    import uuid

    cte = _one_statement()
    import asyncpg

    pool = await asyncpg.create_pool(database_url, min_size=20, max_size=20)  # as one web process
    done = 0
    deadline = time.monotonic() + seconds

    async def chain(token: str) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            child = secrets.token_urlsafe(32)
            if one_statement:
                now = datetime.datetime.now(datetime.UTC)
                await pool.fetchrow(cte, _hash(token), now, now, uuid.uuid4(), _hash(child), now,
                                    now, now + datetime.timedelta(days=7),
                                    datetime.timedelta(days=30))
                token = child
                done += 1
                continue
            async with pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(ROTATE[0], _hash(token))
                await conn.execute(ROTATE[1], row["id"])
                await conn.execute(ROTATE[2], row["session_id"], _hash(child), row["id"])
                await conn.execute(ROTATE[3], row["session_id"])
                await conn.fetchrow(ROTATE[4], row["user_id"])
            token = child
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(chain(t) for t in tokens[:concurrency]))
    elapsed = time.monotonic() - started
    await pool.close()
    return done / elapsed
