"""Organizations: the tenants people belong to through memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from db.engine import is_sqlite
from db.tables import Membership, Organization
from domain.records import MembershipRecord, OrganizationRecord

FIELDS = (Organization.id, Organization.name, Organization.legal_business_name,
          Organization.dba_name, Organization.contact_email, Organization.timezone,
          Organization.created_at, Organization.updated_at)
# the caller's organizations with their membership, in the order they joined
_OF_USER = ("SELECT " + ", ".join(f"o.{f._meta.db_column_name} AS o_{f._meta.name}"
                                  for f in FIELDS)
            + ", m.id, m.organization_id, m.user_id, m.role, m.status, m.created_at "
              "FROM memberships m JOIN organizations o ON o.id = m.organization_id "
              "WHERE m.user_id = {} ORDER BY m.created_at, m.id")


async def insert(*, name: str, legal_business_name: str | None, dba_name: str | None,
                 contact_email: str, timezone: str, created_by: uuid.UUID | None,
                 now: datetime) -> OrganizationRecord:
    """Insert an organization; returns it. timezone: an IANA zone name, already checked."""
    organization_id = uuid.uuid4()
    await Organization.insert(Organization(
        id=organization_id, name=name, legal_business_name=legal_business_name,
        dba_name=dba_name, contact_email=contact_email, timezone=timezone,
        created_by=created_by, created_at=now, updated_at=now))
    return OrganizationRecord(id=organization_id, name=name,
                              legal_business_name=legal_business_name, dba_name=dba_name,
                              contact_email=contact_email, timezone=timezone, created_at=now,
                              updated_at=now)


async def get(organization_id: uuid.UUID) -> OrganizationRecord | None:
    """The organization, or None."""
    row = await Organization.select(*FIELDS).where(Organization.id == organization_id).first()
    return OrganizationRecord(**row) if row else None


async def lock(organization_id: uuid.UUID, *, for_delete: bool = False) -> bool:
    """Lock the organization's row until the transaction ends; False when there is none.

    Every change to its members takes this lock first, so two of them (two owners demoting
    each other) run one after the other and each sees the other's result. PostgreSQL: FOR NO
    KEY UPDATE, which lets rows referencing it (a new membership or team) be inserted
    meanwhile; ``for_delete``: FOR UPDATE, which makes such inserts wait (and then fail), so
    every membership is counted before the row goes. SQLite: BEGIN IMMEDIATE serializes
    writers already. Call inside a transaction."""
    query = Organization.select(Organization.id).where(Organization.id == organization_id)
    if not is_sqlite():
        query = query.lock_rows("UPDATE" if for_delete else "NO KEY UPDATE")
    return bool(await query)


async def of_user(user_id: uuid.UUID) -> list[tuple[OrganizationRecord, MembershipRecord]]:
    """The user's organizations with their membership (any status), in the order they
    joined; one query."""
    rows = await Membership.raw(_OF_USER, user_id)
    found = []
    for row in rows:
        organization = {k[2:]: row.pop(k) for k in list(row) if k.startswith("o_")}
        found.append((OrganizationRecord(**organization), MembershipRecord(**row)))
    return found


async def update(organization_id: uuid.UUID, *, now: datetime, **fields: str | None) -> None:
    """Change the given fields (name, legal_business_name, dba_name, contact_email,
    timezone: already checked). Call inside a transaction."""
    values: dict[Any, Any] = {Organization.updated_at: now}
    for name, value in fields.items():
        values[Organization._meta.get_column_by_name(name)] = value
    await Organization.update(values).where(Organization.id == organization_id)


async def delete(organization_id: uuid.UUID) -> None:
    """Delete the organization; the database cascades to its memberships, invitations, teams
    and team memberships (uncount memberships first: memberships.remove_all). Call inside a
    transaction."""
    await Organization.delete().where(Organization.id == organization_id)
