"""Organizations: the tenants people belong to through memberships."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import Organization
from domain.records import OrganizationRecord

FIELDS = (Organization.id, Organization.name, Organization.legal_business_name,
          Organization.dba_name, Organization.contact_email, Organization.timezone,
          Organization.created_at, Organization.updated_at)


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
