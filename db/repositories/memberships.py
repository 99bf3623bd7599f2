"""Memberships: who belongs to which organization, with which role and status.

``users.organization_count`` is kept equal to the user's membership rows in the same
transaction, so the profile reads organizations only for people who have some."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.engine import is_sqlite
from db.tables import Membership, User
from domain.records import MembershipRecord

FIELDS = (Membership.id, Membership.organization_id, Membership.user_id, Membership.role,
          Membership.status, Membership.created_at)


async def add(*, organization_id: uuid.UUID, user_id: uuid.UUID, role: str,
              now: datetime) -> MembershipRecord:
    """Insert an active membership and count it on the user. Call inside a transaction.
    raises the driver's integrity error when the person is a member already (unique index
    ``memberships_organization_user``); check with :func:`get` first."""
    membership_id = uuid.uuid4()
    await Membership.insert(Membership(
        id=membership_id, organization_id=organization_id, user_id=user_id, role=role,
        status="active", created_at=now, updated_at=now))
    await User.update({User.organization_count: User.organization_count + 1}).where(
        User.id == user_id)
    return MembershipRecord(id=membership_id, organization_id=organization_id,
                            user_id=user_id, role=role, status="active", created_at=now)


async def get(organization_id: uuid.UUID, user_id: uuid.UUID, *,
              for_update: bool = False) -> MembershipRecord | None:
    """The person's membership of the organization (any status), or None. for_update: lock
    the row on PostgreSQL (SQLite: BEGIN IMMEDIATE serializes writers already)."""
    lock = " FOR UPDATE" if for_update and not is_sqlite() else ""
    rows = await Membership.raw(
        "SELECT id, organization_id, user_id, role, status, created_at FROM memberships "
        "WHERE organization_id = {} AND user_id = {}" + lock, organization_id, user_id)
    return MembershipRecord(**rows[0]) if rows else None


async def remove(membership: MembershipRecord) -> bool:
    """Delete the membership and uncount it; False when it was already gone. Call inside a
    transaction. Team memberships in the organization are the caller's to remove."""
    rows = await Membership.delete().where(Membership.id == membership.id).returning(
        Membership.id)
    if rows:
        await User.update({User.organization_count: User.organization_count - 1}).where(
            User.id == membership.user_id)
    return bool(rows)
