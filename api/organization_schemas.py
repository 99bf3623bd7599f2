"""Bodies of /v1/organizations (API.md "Organizations and context"), camelCase on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from api.schemas import PRINTABLE, Camel, Email
from domain.organizations.creation import OrganizationFields
from domain.records import AuditRecord, MemberRecord, MembershipRecord, OrganizationRecord

OrganizationName = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE,
                                       examples=["Acme Events"])]
BusinessName = Annotated[str, Meta(max_length=200, pattern=PRINTABLE,
                                   examples=["Acme Events LLC"])]
TimeZone = Annotated[str, Meta(min_length=1, max_length=64, pattern=PRINTABLE,
                               examples=["Europe/Berlin"],
                               description="An IANA time zone name (checked with zoneinfo).")]
RoleName = Literal["owner", "admin", "member"]
StatusName = Literal["active", "suspended"]


class OrganizationRequest(Camel):
    name: OrganizationName
    legal_business_name: BusinessName | None = None
    dba_name: BusinessName | None = None
    contact_email: Email | None = None  # default: the caller's email
    timezone: TimeZone | None = None  # default: UTC

    def fields(self) -> OrganizationFields:
        return OrganizationFields(
            name=self.name, legal_business_name=self.legal_business_name,
            dba_name=self.dba_name, contact_email=self.contact_email, timezone=self.timezone)


class OrganizationUpdate(Struct, rename="camel"):
    """Only the fields sent change; ``null`` removes legalBusinessName or dbaName."""

    name: OrganizationName | UnsetType = UNSET
    legal_business_name: BusinessName | UnsetType | None = UNSET
    dba_name: BusinessName | UnsetType | None = UNSET
    contact_email: Email | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET

    def changes(self) -> dict[str, str | None]:
        """The fields sent, by their OrganizationFields names."""
        return {name: value for name in self.__struct_fields__
                if (value := getattr(self, name)) is not UNSET}


class Organization(Struct, rename="camel"):
    id: uuid.UUID
    name: str
    legal_business_name: str | None
    dba_name: str | None
    contact_email: str
    timezone: str
    created_at: datetime

    @classmethod
    def of(cls, organization: OrganizationRecord) -> Organization:
        return cls(id=organization.id, name=organization.name,
                   legal_business_name=organization.legal_business_name,
                   dba_name=organization.dba_name, contact_email=organization.contact_email,
                   timezone=organization.timezone, created_at=organization.created_at)


class MyOrganization(Struct, rename="camel"):
    """An Organization with the caller's membership of it."""

    id: uuid.UUID
    name: str
    legal_business_name: str | None
    dba_name: str | None
    contact_email: str
    timezone: str
    created_at: datetime
    role: RoleName
    status: StatusName
    joined_at: datetime

    @classmethod
    def of(cls, organization: OrganizationRecord, membership: MembershipRecord
           ) -> MyOrganization:
        base = Organization.of(organization)
        return cls(**{f: getattr(base, f) for f in Organization.__struct_fields__},
                   role=membership.role, status=membership.status,  # type: ignore[arg-type]
                   joined_at=membership.created_at)


class OrganizationList(Struct, rename="camel"):
    items: list[MyOrganization]


class Member(Struct, rename="camel"):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: RoleName
    status: StatusName
    joined_at: datetime

    @classmethod
    def of(cls, member: MemberRecord) -> Member:
        return cls(user_id=member.user_id, email=member.email, name=member.name,
                   role=member.role, status=member.status,  # type: ignore[arg-type]
                   joined_at=member.created_at)


class MemberPage(Struct, rename="camel"):
    items: list[Member]
    next_cursor: str | None


class MemberUpdate(Camel):
    role: RoleName | None = None
    status: StatusName | None = None


class OrganizationEvent(Struct, rename="camel"):
    """API.md Event, plus who acted (``actorId``) and whom it concerns (``userId``)."""

    id: uuid.UUID
    action: str
    user_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    ip_address: str | None
    user_agent: str | None
    metadata: dict[str, object]
    created_at: datetime

    @classmethod
    def of(cls, event: AuditRecord) -> OrganizationEvent:
        return cls(id=event.id, action=event.action, user_id=event.user_id,
                   actor_id=event.actor_id, ip_address=event.ip_address,
                   user_agent=event.user_agent, metadata=event.metadata,
                   created_at=event.created_at)


class OrganizationEventPage(Struct, rename="camel"):
    items: list[OrganizationEvent]
    next_cursor: str | None
