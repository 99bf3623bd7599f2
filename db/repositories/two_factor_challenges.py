"""Pending two-factor sign-ins: the challenge token's SHA-256, never the token; wrong answers
counted in the row."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import TwoFactorChallenge
from domain.records import TwoFactorChallengeRecord


async def create(*, user_id: uuid.UUID, token_hash: str, first_factor: str,
                 device_name: str | None, now: datetime, expires_at: datetime,
                 ip_address: str | None, user_agent: str | None,
                 context_id: uuid.UUID | None = None) -> uuid.UUID:
    """Store a challenge; returns its id. context_id: the organization the session is to
    start in once answered (a single sign-on), if any. Call inside a transaction."""
    challenge_id = uuid.uuid4()
    await TwoFactorChallenge.insert(TwoFactorChallenge(
        id=challenge_id, user_id=user_id, token_hash=token_hash, first_factor=first_factor,
        device_name=device_name, expires_at=expires_at, created_at=now, ip_address=ip_address,
        user_agent=user_agent, context_id=context_id))
    return challenge_id


FIELDS = (TwoFactorChallenge.id, TwoFactorChallenge.user_id, TwoFactorChallenge.first_factor,
          TwoFactorChallenge.device_name, TwoFactorChallenge.attempts,
          TwoFactorChallenge.expires_at, TwoFactorChallenge.used_at)


async def find(token_hash: str) -> TwoFactorChallengeRecord | None:
    """The challenge whose token has this SHA-256, used or not, expired or not."""
    row = await TwoFactorChallenge.select(*FIELDS).where(
        TwoFactorChallenge.token_hash == token_hash).first()
    return TwoFactorChallengeRecord(**row) if row else None


async def reserve_attempt(challenge_id: uuid.UUID, *, now: datetime,
                          max_attempts: int) -> int | None:
    """Count one answer against a live challenge (unused, unexpired, under ``max_attempts``)
    in one conditional UPDATE, before the code is checked: parallel answers get at most
    ``max_attempts`` checks on any engine. Returns the attempt number (1-based), or None when
    the challenge is used, expired or out of attempts."""
    rows = await TwoFactorChallenge.update(
        {TwoFactorChallenge.attempts: TwoFactorChallenge.attempts + 1}
    ).where(
        (TwoFactorChallenge.id == challenge_id) & TwoFactorChallenge.used_at.is_null()
        & (TwoFactorChallenge.expires_at > now)
        & (TwoFactorChallenge.attempts < max_attempts)
    ).returning(TwoFactorChallenge.attempts)
    return int(rows[0]["attempts"]) if rows else None


async def mark_used(challenge_id: uuid.UUID, now: datetime
                    ) -> tuple[bool, uuid.UUID | None]:
    """Conditionally mark the challenge answered: (False, None) if a parallel request did
    first, else (True, its context_id). Call inside the transaction that opens the session,
    so exactly one session results."""
    rows = await TwoFactorChallenge.update({TwoFactorChallenge.used_at: now}).where(
        (TwoFactorChallenge.id == challenge_id) & TwoFactorChallenge.used_at.is_null()
    ).returning(TwoFactorChallenge.id, TwoFactorChallenge.context_id)
    if not rows:
        return False, None
    context_id = rows[0]["context_id"]
    # SQLite's RETURNING gives the UUID as text
    return True, uuid.UUID(str(context_id)) if context_id is not None else None
