"""Short numeric one-time codes: keyed HMACs only, attempts counted in the row."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import OtpCode
from domain.records import OtpCodeRecord

FIELDS = (OtpCode.id, OtpCode.code_hmac, OtpCode.attempts, OtpCode.expires_at, OtpCode.target)


async def add(*, user_id: uuid.UUID, purpose: str, code_hmac: str, expires_at: datetime,
              now: datetime, supersede: bool = True, target: str | None = None) -> None:
    """Store a new code; with ``supersede``, first delete the user's unused codes of the same
    purpose (a newer code voids the older). target: where the code was sent (an address or
    E.164 number) when using it proves that contact. Call inside a transaction."""
    live = (OtpCode.user_id == user_id) & (OtpCode.purpose == purpose) & OtpCode.used_at.is_null()
    if supersede:
        await OtpCode.delete().where(live)
    await OtpCode.insert(OtpCode(id=uuid.uuid4(), user_id=user_id, purpose=purpose,
                                 code_hmac=code_hmac, expires_at=expires_at, created_at=now,
                                 target=target))


async def reserve_attempt(*, user_id: uuid.UUID, purpose: str, now: datetime,
                          max_attempts: int) -> list[OtpCodeRecord]:
    """Count one attempt against each live code of the user and purpose (unused, unexpired,
    under ``max_attempts``) in one conditional UPDATE, and return them: N parallel guesses
    get at most ``max_attempts`` comparisons per code, whatever the engine."""
    rows = await OtpCode.update({OtpCode.attempts: OtpCode.attempts + 1}).where(
        (OtpCode.user_id == user_id) & (OtpCode.purpose == purpose)
        & OtpCode.used_at.is_null() & (OtpCode.expires_at > now)
        & (OtpCode.attempts < max_attempts)
    ).returning(*FIELDS)
    return [OtpCodeRecord(**row) for row in rows]


async def latest(*, user_id: uuid.UUID, purpose: str) -> OtpCodeRecord | None:
    """The user's newest unused code of ``purpose`` (to tell why a guess found none)."""
    row = await OtpCode.select(*FIELDS).where(
        (OtpCode.user_id == user_id) & (OtpCode.purpose == purpose) & OtpCode.used_at.is_null()
    ).order_by(OtpCode.created_at, ascending=False).first()
    return OtpCodeRecord(**row) if row else None


async def mark_used(code_id: uuid.UUID, now: datetime) -> bool:
    """Conditionally mark used; False if a parallel request used it first."""
    rows = await OtpCode.update({OtpCode.used_at: now}).where(
        (OtpCode.id == code_id) & OtpCode.used_at.is_null()
    ).returning(OtpCode.id)
    return bool(rows)
