"""Invitations to organizations: the token is minted by the worker, only its hash is kept.

An invitation is *pending* while it is neither accepted nor revoked and ``expires_at`` lies
ahead. ``expires_at`` is written when the invitation is queued (now + INVITATION_TTL) and
written again by :func:`set_token` when the worker sends the email."""

from __future__ import annotations

import uuid
from datetime import datetime

from piccolo.columns.combination import Combinable

from db.engine import is_sqlite
from db.tables import Invitation
from domain.records import InvitationRecord

FIELDS = (Invitation.id, Invitation.organization_id, Invitation.email, Invitation.role,
          Invitation.invited_by, Invitation.expires_at, Invitation.accepted_at,
          Invitation.revoked_at, Invitation.created_at)
_COLUMNS = ", ".join(f._meta.db_column_name for f in FIELDS)
_OPEN = Invitation.accepted_at.is_null() & Invitation.revoked_at.is_null()


def _pending(organization_id: uuid.UUID, now: datetime) -> Combinable:
    return (Invitation.organization_id == organization_id) & _OPEN & (
        Invitation.expires_at > now)


async def set_token(invitation_id: uuid.UUID, *, token_hash: str, expires_at: datetime) -> bool:
    """Give a pending invitation its (new) token, voiding any earlier one; False when it was
    accepted, revoked or deleted meanwhile (the email must not go out). Called by the worker
    inside the transaction that claims the message."""
    rows = await Invitation.update({Invitation.token_hash: token_hash,
                                    Invitation.expires_at: expires_at}).where(
        (Invitation.id == invitation_id) & Invitation.accepted_at.is_null()
        & Invitation.revoked_at.is_null()).returning(Invitation.id)
    return bool(rows)


async def insert(*, organization_id: uuid.UUID, email: str, role: str,
                 invited_by: uuid.UUID, expires_at: datetime,
                 now: datetime) -> InvitationRecord:
    """Insert a pending invitation without a token (the worker mints it). email: as
    given, compared lower-cased. Call inside a transaction."""
    record = InvitationRecord(id=uuid.uuid4(), organization_id=organization_id, email=email,
                              role=role, invited_by=invited_by, expires_at=expires_at,
                              accepted_at=None, revoked_at=None, created_at=now)
    await Invitation.insert(Invitation(
        id=record.id, organization_id=organization_id, email=email, email_lower=email.lower(),
        role=role, invited_by=invited_by, expires_at=expires_at, created_at=now))
    return record


async def pending(organization_id: uuid.UUID, now: datetime) -> list[InvitationRecord]:
    """The organization's pending invitations, oldest first (at most MAX_PENDING_INVITATIONS
    of them: no paging)."""
    rows = await Invitation.select(*FIELDS).where(_pending(organization_id, now)).order_by(
        Invitation.created_at, Invitation.id)
    return [InvitationRecord(**row) for row in rows]


async def count_pending(organization_id: uuid.UUID, now: datetime) -> int:
    """How many pending invitations the organization has."""
    return await Invitation.count().where(_pending(organization_id, now))


async def pending_for(organization_id: uuid.UUID, email: str,
                      now: datetime) -> list[InvitationRecord]:
    """The organization's pending invitations to ``email`` (case-insensitive)."""
    rows = await Invitation.select(*FIELDS).where(
        _pending(organization_id, now) & (Invitation.email_lower == email.lower()))
    return [InvitationRecord(**row) for row in rows]


async def get(organization_id: uuid.UUID, invitation_id: uuid.UUID) -> InvitationRecord | None:
    """The organization's invitation (any state), or None."""
    row = await Invitation.select(*FIELDS).where(
        (Invitation.id == invitation_id)
        & (Invitation.organization_id == organization_id)).first()
    return InvitationRecord(**row) if row else None


async def find(token_hash: str, *, for_update: bool = False) -> InvitationRecord | None:
    """The invitation whose current token hashes to ``token_hash`` (any state), or None.
    for_update: lock the row on PostgreSQL until the transaction ends (SQLite: BEGIN
    IMMEDIATE serializes writers already)."""
    lock = " FOR UPDATE" if for_update and not is_sqlite() else ""
    rows = await Invitation.raw(f"SELECT {_COLUMNS} FROM invitations WHERE token_hash = {{}}"
                                + lock, token_hash)
    return InvitationRecord(**rows[0]) if rows else None


async def revoke(invitation_id: uuid.UUID, now: datetime) -> bool:
    """Revoke the invitation unless it was accepted or revoked already; True when this call
    revoked it. Its token stops working at once; a queued email is not sent."""
    rows = await Invitation.update({Invitation.revoked_at: now}).where(
        (Invitation.id == invitation_id) & _OPEN).returning(Invitation.id)
    return bool(rows)


async def accept(invitation_id: uuid.UUID, *, token_hash: str, user_id: uuid.UUID,
                 now: datetime) -> bool:
    """Mark the invitation accepted by ``user_id`` if it is still open and ``token_hash`` is
    still its token: a conditional UPDATE, so of parallel accepts exactly one gets True.
    Call inside a transaction."""
    rows = await Invitation.update({Invitation.accepted_at: now,
                                    Invitation.accepted_by: user_id}).where(
        (Invitation.id == invitation_id) & (Invitation.token_hash == token_hash)
        & _OPEN).returning(Invitation.id)
    return bool(rows)
