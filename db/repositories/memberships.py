"""Memberships: who belongs to which organization, with which role and status.

``users.organization_count`` is kept equal to the user's membership rows in the same
transaction, so the profile reads organizations only for people who have some."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from db.engine import is_sqlite
from db.tables import Membership, Team, TeamMembership, User
from domain.names import MembershipStatus, OrganizationRole
from domain.records import MemberRecord, MembershipRecord

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
        await _release([membership.user_id], membership.organization_id)
    return bool(rows)


async def _release(user_ids: list[uuid.UUID], organization_id: uuid.UUID) -> None:
    """Hand profiles back to their people once they leave the organization whose directory
    managed them (issue 14 ``managedBy``): whichever way the membership ended (left, removed,
    SCIM DELETE, the organization deleted), name, email and phone are theirs again."""
    await User.update({User.managed_by_organization_id: None, User.created_by_scim: False}
                      ).where(User.id.is_in(user_ids)
                              & (User.managed_by_organization_id == organization_id))


def _member_query() -> Any:
    return Membership.select(
        Membership.id, Membership.organization_id, Membership.user_id, Membership.role,
        Membership.status, Membership.created_at, Membership.user_id.email.as_alias("email"),
        Membership.user_id.name.as_alias("name"))


async def member(organization_id: uuid.UUID, user_id: uuid.UUID) -> MemberRecord | None:
    """The membership with the member's email and name, or None."""
    row = await _member_query().where((Membership.organization_id == organization_id)
                                      & (Membership.user_id == user_id)).first()
    return MemberRecord(**row) if row else None


async def page(organization_id: uuid.UUID, *, limit: int,
               after: tuple[datetime, uuid.UUID] | None = None) -> list[MemberRecord]:
    """Up to ``limit`` members (any status) in the order they joined, strictly after
    ``after`` ((created_at, id) of the last member of the previous page: keyset)."""
    where = Membership.organization_id == organization_id
    if after is not None:
        at, membership_id = after
        where &= (Membership.created_at > at) | (
            (Membership.created_at == at) & (Membership.id > membership_id))
    rows = await _member_query().where(where).order_by(
        Membership.created_at, Membership.id).limit(limit)
    return [MemberRecord(**row) for row in rows]


async def active_owners(organization_id: uuid.UUID) -> list[uuid.UUID]:
    """User ids of the organization's active owners, row-locked on PostgreSQL until the
    transaction ends. Call inside a transaction, after organizations.lock."""
    query = Membership.select(Membership.user_id).where(
        (Membership.organization_id == organization_id)
        & (Membership.role == OrganizationRole.OWNER.value)
        & (Membership.status == MembershipStatus.ACTIVE.value)).order_by(Membership.id)
    if not is_sqlite():
        query = query.lock_rows()
    return [row["user_id"] for row in await query]


async def update(membership_id: uuid.UUID, *, now: datetime, role: str | None = None,
                 status: str | None = None) -> None:
    """Set the role and/or status given. Call inside a transaction."""
    values: dict[Any, Any] = {Membership.updated_at: now}
    if role is not None:
        values[Membership.role] = role
    if status is not None:
        values[Membership.status] = status
    await Membership.update(values).where(Membership.id == membership_id)


async def remove_team_memberships(organization_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Take the user out of every team of the organization (on removal or suspension). Call
    inside a transaction."""
    await TeamMembership.delete().where(
        (TeamMembership.user_id == user_id)
        & TeamMembership.team_id.is_in(
            Team.select(Team.id).where(Team.organization_id == organization_id)))


async def remove_all(organization_id: uuid.UUID) -> list[uuid.UUID]:
    """Delete every membership of the organization and uncount each on its user (before the
    organization itself is deleted); returns the user ids. Call inside a transaction, after
    organizations.lock(for_delete=True)."""
    rows = await Membership.delete().where(
        Membership.organization_id == organization_id).returning(Membership.user_id)
    user_ids = [row["user_id"] for row in rows]
    if user_ids:
        await User.update({User.organization_count: User.organization_count - 1}).where(
            User.id.is_in(user_ids))
        await _release(user_ids, organization_id)
    return user_ids


async def owned_by(user_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the organizations the user is an active owner of, in id order (the order to
    lock them in: two transactions locking several organizations never deadlock)."""
    rows = await Membership.select(Membership.organization_id).where(
        (Membership.user_id == user_id) & (Membership.role == OrganizationRole.OWNER.value)
        & (Membership.status == MembershipStatus.ACTIVE.value))
    return sorted((row["organization_id"] for row in rows), key=str)
