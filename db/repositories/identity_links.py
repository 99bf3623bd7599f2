"""Identity links: an account's identity at an identity provider, (issuer, subject) -> user
(OIDC Core §5.7: only that pair identifies a person stably; an email claim may change)."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import IdentityLink
from domain.records import IdentityLinkRecord

FIELDS = (IdentityLink.id, IdentityLink.user_id, IdentityLink.issuer, IdentityLink.subject,
          IdentityLink.organization_id, IdentityLink.created_at, IdentityLink.last_used_at)


async def find(issuer: str, subject: str) -> IdentityLinkRecord | None:
    """The link of (issuer, subject), or None."""
    row = await IdentityLink.select(*FIELDS).where(
        (IdentityLink.issuer == issuer) & (IdentityLink.subject == subject)).first()
    return IdentityLinkRecord(**row) if row else None


async def insert(*, user_id: uuid.UUID, issuer: str, subject: str,
                 organization_id: uuid.UUID | None, now: datetime) -> uuid.UUID:
    """Link (issuer, subject) to the account. Call inside a transaction; the unique index
    (issuer, subject) raises the driver's integrity error on a lost race."""
    link_id = uuid.uuid4()
    await IdentityLink.insert(IdentityLink(
        id=link_id, user_id=user_id, issuer=issuer, subject=subject,
        organization_id=organization_id, created_at=now, last_used_at=now))
    return link_id


async def touch(link_id: uuid.UUID, now: datetime) -> None:
    """Record a sign-in through the link."""
    await IdentityLink.update({IdentityLink.last_used_at: now}).where(IdentityLink.id == link_id)


async def delete(link_id: uuid.UUID) -> None:
    """Forget a link (its account was erased). Call inside a transaction."""
    await IdentityLink.delete().where(IdentityLink.id == link_id)
