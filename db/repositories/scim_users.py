"""SCIM users: an organization's members with the account fields a SCIM ``User`` shows and
the ids its directory gave them (``memberships.scim_*``). Every query is scoped to one
organization, so another organization's member is never found."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db.engine import is_sqlite
from db.tables import Membership, User

# the SQL the filter attribute map (api/scim/user_resource.py) is written against
FROM = ("FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.organization_id = {} AND u.deleted_at IS NULL")
_COLUMNS = (
    "u.id AS user_id, u.email, u.name, u.phone_number, u.is_active, u.created_by_scim, "
    "u.managed_by_organization_id, u.organization_count, u.updated_at AS user_updated_at, "
    "m.id AS membership_id, m.organization_id, m.role, m.status, m.created_at, m.updated_at, "
    "m.scim_user_name, m.scim_external_id, m.scim_attributes")
ORDER = " ORDER BY m.created_at, m.id"


@dataclass(frozen=True, slots=True)
class ScimMember:
    """A member of an organization as its SCIM directory reads it. user_name/external_id:
    what the directory set (None: not provisioned by SCIM); attributes: the directory's
    attributes latchkey does not model, as it sent them; status: MembershipStatus."""

    user_id: uuid.UUID
    email: str
    name: str | None
    phone_number: str | None
    is_active: bool
    created_by_scim: bool
    managed_by_organization_id: uuid.UUID | None
    organization_count: int
    user_updated_at: datetime
    membership_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    status: str
    created_at: datetime
    updated_at: datetime
    scim_user_name: str | None
    scim_external_id: str | None
    scim_attributes: dict[str, Any] = field(default_factory=dict)


def _member(row: dict[str, Any]) -> ScimMember:
    attributes = row["scim_attributes"]
    if isinstance(attributes, str | bytes):
        attributes = json.loads(attributes or "{}")
    return ScimMember(**{**row, "is_active": bool(row["is_active"]),
                         "created_by_scim": bool(row["created_by_scim"]),
                         "scim_attributes": attributes or {}})


async def get(organization_id: uuid.UUID, user_id: uuid.UUID, *,
              for_update: bool = False) -> ScimMember | None:
    """The organization's member ``user_id`` (any status, live account), or None. for_update:
    lock the membership row on PostgreSQL (SQLite: BEGIN IMMEDIATE serializes writers)."""
    lock = " FOR UPDATE OF m" if for_update and not is_sqlite() else ""
    rows = await Membership.raw(f"SELECT {_COLUMNS} {FROM} AND m.user_id = {{}}{lock}",
                                organization_id, user_id)
    return _member(rows[0]) if rows else None


async def page(organization_id: uuid.UUID, condition: tuple[str, Sequence[Any]] | None, *,
               offset: int, limit: int) -> tuple[list[ScimMember], int]:
    """(up to ``limit`` members after skipping ``offset``, how many match in all), in the
    order they joined. condition: an SQL condition over ``m`` (memberships) and ``u``
    (users) with ``{}`` placeholders and its parameters (api/scim/filters.py), or None.
    limit 0 counts only."""
    where, params = ("", []) if condition is None else (f" AND ({condition[0]})",
                                                        list(condition[1]))
    rows = await Membership.raw(f"SELECT count(*) AS total {FROM}{where}",
                                organization_id, *params)
    total = int(rows[0]["total"])
    if limit == 0 or offset >= total:
        return [], total
    rows = await Membership.raw(f"SELECT {_COLUMNS} {FROM}{where}{ORDER} LIMIT {{}} OFFSET {{}}",
                                organization_id, *params, limit, offset)
    return [_member(row) for row in rows], total


async def holder_of(organization_id: uuid.UUID, *, user_name: str | None = None,
                    external_id: str | None = None) -> uuid.UUID | None:
    """The member whose userName (case-insensitive; the email when the directory set none:
    RFC 7643 §4.1.1 ``caseExact`` false) or externalId (exact) this is, or None."""
    if user_name is not None:
        rows = await Membership.raw(
            f"SELECT u.id AS user_id {FROM} AND lower(COALESCE(m.scim_user_name, u.email)) "
            "= lower({}) LIMIT 1", organization_id, user_name)
    else:
        rows = await Membership.raw(f"SELECT u.id AS user_id {FROM} AND m.scim_external_id = {{}} "
                                    "LIMIT 1", organization_id, external_id)
    return rows[0]["user_id"] if rows else None


async def set_directory_fields(membership_id: uuid.UUID, *, user_name: str | None,
                               external_id: str | None, attributes: dict[str, Any],
                               now: datetime) -> None:
    """Store the directory's userName, externalId and other attributes on the membership.
    Call inside a transaction."""
    await Membership.update({
        Membership.scim_user_name: user_name, Membership.scim_external_id: external_id,
        Membership.scim_attributes: attributes, Membership.updated_at: now,
    }).where(Membership.id == membership_id)


async def set_email(user_id: uuid.UUID, email: str, now: datetime) -> None:
    """A new address for the account, unverified (the person verifies it again: issue 14,
    independent contact verification). Call inside a transaction; the unique index on
    ``email_lower`` raises the driver's integrity error on a lost race."""
    await User.update({User.email: email, User.email_lower: email.lower(),
                       User.email_verified_at: None, User.updated_at: now}
                      ).where(User.id == user_id)


async def set_management(user_id: uuid.UUID, *, organization_id: uuid.UUID | None,
                         created_by_scim: bool, now: datetime) -> None:
    """Which organization's directory owns the profile (None: the person) and whether SCIM
    created the account. Call inside a transaction."""
    await User.update({User.managed_by_organization_id: organization_id,
                       User.created_by_scim: created_by_scim, User.updated_at: now}
                      ).where(User.id == user_id)
