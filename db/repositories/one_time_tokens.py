"""One-time tokens (verify_email, reset_password, magic_link, pair_device): hashes only."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.engine import is_sqlite
from db.tables import OneTimeToken
from domain.records import OneTimeTokenRecord


async def add(*, user_id: uuid.UUID, purpose: str, token_hash: str, expires_at: datetime,
              now: datetime, ip_address: str | None = None, user_agent: str | None = None,
              supersede: bool = True) -> None:
    """Store a new token hash; with ``supersede``, first delete the user's unused ones of
    the same purpose (a new link voids the older ones). Call inside a transaction."""
    if supersede:
        await OneTimeToken.delete().where(
            (OneTimeToken.user_id == user_id) & (OneTimeToken.purpose == purpose)
            & OneTimeToken.used_at.is_null()
        )
    await OneTimeToken.insert(
        OneTimeToken(id=uuid.uuid4(), user_id=user_id, purpose=purpose, token_hash=token_hash,
                     expires_at=expires_at, created_at=now, ip_address=ip_address,
                     user_agent=user_agent)
    )


async def find(token_hash: str) -> OneTimeTokenRecord | None:
    """Look a token up by hash, without locking."""
    row = await OneTimeToken.select(
        OneTimeToken.id, OneTimeToken.user_id, OneTimeToken.purpose, OneTimeToken.expires_at,
        OneTimeToken.used_at).where(OneTimeToken.token_hash == token_hash).first()
    return OneTimeTokenRecord(**row) if row else None


async def find_for_update(token_hash: str) -> OneTimeTokenRecord | None:
    """Look a token up by hash, row-locked on PostgreSQL (SQLite: the transaction is
    BEGIN IMMEDIATE, which already serializes writers)."""
    lock = "" if is_sqlite() else " FOR UPDATE"
    rows = await OneTimeToken.raw(
        "SELECT id, user_id, purpose, expires_at, used_at FROM one_time_tokens "
        "WHERE token_hash = {}" + lock, token_hash
    )
    return OneTimeTokenRecord(**rows[0]) if rows else None


async def mark_used(token_id: uuid.UUID, now: datetime) -> bool:
    """Conditionally mark used; False if another request used it first."""
    rows = await OneTimeToken.update({OneTimeToken.used_at: now}).where(
        (OneTimeToken.id == token_id) & OneTimeToken.used_at.is_null()
    ).returning(OneTimeToken.id)
    return bool(rows)
