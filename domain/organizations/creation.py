"""Creating an organization with its first owner: POST /v1/organizations and the
organization sign-up (POST /v1/auth/register with ``accountType: organization``) share this."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

from db.repositories import memberships, organizations
from domain.errors import ValidationFailed
from domain.names import AuditAction, OrganizationRole
from domain.records import OrganizationRecord, UserRecord
from domain.unit_of_work import UnitOfWork

DEFAULT_TIMEZONE = "UTC"
NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})  # files in the zone directory


@dataclass(frozen=True, slots=True)
class OrganizationFields:
    """What a client sends (API.md Organization). contact_email None: the owner's email;
    timezone None: UTC."""

    name: str
    legal_business_name: str | None = None
    dba_name: str | None = None
    contact_email: str | None = None
    timezone: str | None = None


def check_timezone(name: str | None) -> str:
    """The IANA zone ``name`` (default UTC) if ``zoneinfo`` knows it.
    raises ValidationFailed (400, field ``timezone``)."""
    if name is None:
        return DEFAULT_TIMEZONE
    # the canonical IANA names only: ZoneInfo() alone also opens "localtime", "posixrules"
    # or "right/..." files, which are not zones a client means
    if name not in _zones():
        raise ValidationFailed([("timezone", "Unknown time zone: use an IANA name like "
                                             "Europe/Berlin.")])
    return name


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(z for z in zoneinfo.available_timezones()
                     if z not in NOT_ZONES and not z.startswith(("posix/", "right/")))


def check_name(name: str) -> str:
    """The name without surrounding blanks. raises ValidationFailed (field ``name``) when
    nothing is left."""
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed([("name", "An organization needs a name.")])
    return cleaned


async def create_organization(uow: UnitOfWork, owner: UserRecord,
                              fields: OrganizationFields) -> OrganizationRecord:
    """Insert the organization with ``owner`` as its active ``owner`` member, inside ``uow``
    (one transaction: a failure leaves neither), and audit ORGANIZATION_CREATED and
    MEMBER_ADDED. raises ValidationFailed (name, timezone)."""
    organization = await organizations.insert(
        name=check_name(fields.name), legal_business_name=fields.legal_business_name,
        dba_name=fields.dba_name, contact_email=fields.contact_email or owner.email,
        timezone=check_timezone(fields.timezone), created_by=owner.id, now=uow.now)
    await memberships.add(organization_id=organization.id, user_id=owner.id,
                          role=OrganizationRole.OWNER.value, now=uow.now)
    uow.audit(AuditAction.ORGANIZATION_CREATED, owner.id, actor_id=owner.id,
              organization_id=organization.id, name=organization.name)
    uow.audit(AuditAction.MEMBER_ADDED, owner.id, actor_id=owner.id,
              organization_id=organization.id, role=OrganizationRole.OWNER.value)
    return organization
