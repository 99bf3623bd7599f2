"""Pending two-factor sign-ins: the challenge token's SHA-256, never the token."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import TwoFactorChallenge


async def create(*, user_id: uuid.UUID, token_hash: str, first_factor: str,
                 device_name: str | None, now: datetime, expires_at: datetime,
                 ip_address: str | None, user_agent: str | None) -> uuid.UUID:
    """Store a challenge; returns its id. Call inside a transaction."""
    challenge_id = uuid.uuid4()
    await TwoFactorChallenge.insert(TwoFactorChallenge(
        id=challenge_id, user_id=user_id, token_hash=token_hash, first_factor=first_factor,
        device_name=device_name, expires_at=expires_at, created_at=now, ip_address=ip_address,
        user_agent=user_agent))
    return challenge_id
