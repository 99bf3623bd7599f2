"""Mobile pairing: the ``mobile_enabled`` flag, pairing tokens (``one_time_tokens`` rows of
purpose ``pair_device``, hashes only) and the user's mobile sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from piccolo.columns.combination import Combinable

from db.engine import is_sqlite
from db.tables import OneTimeToken, Session, User
from domain.names import SessionKind
from domain.records import SessionRecord

PAIR_DEVICE = "pair_device"  # domain.one_time_secrets.purposes.PAIR_DEVICE.name
MOBILE = SessionKind.MOBILE.value


@dataclass(frozen=True, slots=True)
class Creator:
    """The session that asked for a pairing token. amr: RFC 8176 values; revoked_reason:
    None while it is live."""

    session_id: uuid.UUID
    amr: tuple[str, ...]
    revoked_reason: str | None


async def lock_user(user_id: uuid.UUID) -> None:
    """Lock the user's row until the transaction ends (PostgreSQL ``FOR UPDATE``), so pairing
    changes of one account serialize: enable/disable, new tokens, pairs and their limits.
    SQLite needs nothing: BEGIN IMMEDIATE already serializes writers. Call in a transaction;
    take it before any token row lock (one lock order: no deadlock)."""
    if not is_sqlite():
        await User.raw("SELECT id FROM users WHERE id = {} FOR UPDATE", user_id)


async def set_mobile_enabled(user_id: uuid.UUID, enabled: bool, now: datetime) -> bool:
    """Set the flag; True when it changed."""
    rows = await User.update({User.mobile_enabled: enabled, User.updated_at: now}).where(
        (User.id == user_id) & (User.mobile_enabled != enabled)
    ).returning(User.id)
    return bool(rows)


async def add_token(*, user_id: uuid.UUID, token_hash: str, expires_at: datetime, now: datetime,
                    created_by: uuid.UUID, ip_address: str | None,
                    user_agent: str | None) -> None:
    """Store a pairing token's SHA-256, with the session that asked for it."""
    await OneTimeToken.insert(OneTimeToken(
        id=uuid.uuid4(), user_id=user_id, purpose=PAIR_DEVICE, token_hash=token_hash,
        expires_at=expires_at, created_at=now, ip_address=ip_address, user_agent=user_agent,
        created_by=created_by))


def _unused(user_id: uuid.UUID) -> Combinable:
    return ((OneTimeToken.user_id == user_id) & (OneTimeToken.purpose == PAIR_DEVICE)
            & OneTimeToken.used_at.is_null())


async def count_pending(user_id: uuid.UUID, now: datetime, *,
                        besides: str | None = None) -> int:
    """Unused, unexpired pairing tokens of the user (not counting the one hashed
    ``besides``)."""
    where = _unused(user_id) & (OneTimeToken.expires_at > now)
    if besides is not None:
        where &= OneTimeToken.token_hash != besides
    return await OneTimeToken.count().where(where)


async def delete_pending(user_id: uuid.UUID, *, token_hash: str | None = None) -> int:
    """Delete the user's unused pairing tokens, only the one hashed ``token_hash`` when
    given (used ones stay: the audit trail); returns how many went."""
    where = _unused(user_id)
    if token_hash is not None:
        where &= OneTimeToken.token_hash == token_hash
    rows = await OneTimeToken.delete().where(where).returning(OneTimeToken.id)
    return len(rows)


async def creator(token_id: uuid.UUID) -> Creator | None:
    """The session named by the token's ``created_by``, live or ended; None when it is gone."""
    rows = await Session.raw(
        "SELECT s.id, s.amr, s.revoked_reason FROM one_time_tokens t "
        "JOIN sessions s ON s.id = t.created_by WHERE t.id = {}", token_id)
    if not rows:
        return None
    row = rows[0]
    return Creator(session_id=row["id"], amr=tuple(row["amr"].split()),
                   revoked_reason=row["revoked_reason"])


def _live_mobile(user_id: uuid.UUID, now: datetime) -> Combinable:
    return ((Session.user_id == user_id) & (Session.kind == MOBILE)
            & Session.revoked_at.is_null() & (Session.expires_at > now))


async def count_devices(user_id: uuid.UUID, now: datetime) -> int:
    """Live mobile sessions (paired devices) of the user."""
    return await Session.count().where(_live_mobile(user_id, now))


async def list_devices(user_id: uuid.UUID, now: datetime) -> list[SessionRecord]:
    """The user's live mobile sessions, most recently used first."""
    rows = await Session.select(
        Session.id, Session.kind, Session.amr, Session.device_name, Session.platform,
        Session.user_agent, Session.ip_address, Session.created_at, Session.last_used_at,
        Session.expires_at,
    ).where(_live_mobile(user_id, now)).order_by(Session.last_used_at, ascending=False)
    return [SessionRecord(**{**row, "amr": tuple(row["amr"].split())}) for row in rows]


async def revoke_devices(user_id: uuid.UUID, *, now: datetime, reason: str,
                         session_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """End the user's live mobile sessions (only ``session_id`` when given); returns the ids
    ended (empty when ``session_id`` is not a live mobile session of the user)."""
    where = _live_mobile(user_id, now)
    if session_id is not None:
        where &= Session.id == session_id
    rows = await Session.update(
        {Session.revoked_at: now, Session.revoked_reason: reason}
    ).where(where).returning(Session.id)
    return [r["id"] for r in rows]
