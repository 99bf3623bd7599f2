"""SCIM tokens: an organization's SCIM client credentials, kept as SHA-256 only."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from db.tables import ScimToken
from domain.records import ScimTokenRecord

FIELDS = (ScimToken.id, ScimToken.organization_id, ScimToken.description, ScimToken.created_by,
          ScimToken.created_at, ScimToken.last_used_at, ScimToken.revoked_at)
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is for people: minute precision, fewer writes


async def insert(*, organization_id: uuid.UUID, token_hash: str, description: str | None,
                 created_by: uuid.UUID | None, now: datetime) -> ScimTokenRecord:
    token_id = uuid.uuid4()
    await ScimToken.insert(ScimToken(id=token_id, organization_id=organization_id,
                                     token_hash=token_hash, description=description,
                                     created_by=created_by, created_at=now))
    return ScimTokenRecord(id=token_id, organization_id=organization_id, description=description,
                           created_by=created_by, created_at=now, last_used_at=None,
                           revoked_at=None)


async def live_by_hash(token_hash: str) -> ScimTokenRecord | None:
    """The unrevoked token with this SHA-256, or None."""
    row = await ScimToken.select(*FIELDS).where(
        (ScimToken.token_hash == token_hash) & ScimToken.revoked_at.is_null()).first()
    return ScimTokenRecord(**row) if row else None


async def touch(token: ScimTokenRecord, now: datetime) -> None:
    """Record a use (``last_used_at``), at most once per :data:`TOUCH_EVERY`."""
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        await ScimToken.update({ScimToken.last_used_at: now}).where(ScimToken.id == token.id)


async def of_organization(organization_id: uuid.UUID) -> list[ScimTokenRecord]:
    """The organization's unrevoked tokens, newest first."""
    rows = await ScimToken.select(*FIELDS).where(
        (ScimToken.organization_id == organization_id) & ScimToken.revoked_at.is_null()
    ).order_by(ScimToken.created_at, ascending=False)
    return [ScimTokenRecord(**row) for row in rows]


async def revoke(organization_id: uuid.UUID, token_id: uuid.UUID, now: datetime) -> bool:
    """Revoke the organization's token; False when it has no such unrevoked token."""
    return bool(await ScimToken.update({ScimToken.revoked_at: now}).where(
        (ScimToken.id == token_id) & (ScimToken.organization_id == organization_id)
        & ScimToken.revoked_at.is_null()).returning(ScimToken.id))
