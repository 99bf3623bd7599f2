"""API.md Profile: the account with its devices, personal profile, organizations, teams and
active context, camelCase on the wire."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from msgspec import Struct

from domain.records import (
    ActiveContext,
    MembershipRecord,
    OrganizationRecord,
    PushDeviceRecord,
    UserRecord,
    UserTeamRecord,
)
from domain.users.profiles import UserProfile


class TwoFactorSummary(Struct, rename="camel"):
    totp_enabled: bool = False
    sms_enabled: bool = False
    backup_codes_remaining: int = 0


class DeviceSummary(Struct, rename="camel"):
    """A registered push device as the profile lists it."""

    id: uuid.UUID
    platform: str
    name: str | None
    last_seen_at: datetime

    @classmethod
    def of(cls, device: PushDeviceRecord) -> DeviceSummary:
        return cls(id=device.id, platform=device.platform, name=device.device_name,
                   last_seen_at=device.last_seen_at)


class PersonalProfile(Struct, rename="camel"):
    """The account's personal profile (the ``personal`` context)."""

    id: uuid.UUID
    nickname: str | None
    avatar_url: str | None


class ProfileOrganization(Struct, rename="camel"):
    """An organization the account belongs to, with its membership's role and status."""

    id: uuid.UUID
    name: str
    role: Literal["owner", "admin", "member"]
    status: Literal["active", "suspended"]

    @classmethod
    def of(cls, organization: OrganizationRecord, membership: MembershipRecord
           ) -> ProfileOrganization:
        return cls(id=organization.id, name=organization.name,
                   role=membership.role, status=membership.status)  # type: ignore[arg-type]


class ProfileContext(Struct, rename="camel"):
    """The active context of the caller's access token (API.md POST /v1/auth/context)."""

    type: Literal["organization", "personal"]
    id: uuid.UUID


class ProfileTeam(Struct, rename="camel"):
    """An active team of an organization the account is an active member of."""

    id: uuid.UUID
    name: str
    description: str | None
    organization_id: uuid.UUID
    role: Literal["lead", "member"]

    @classmethod
    def of(cls, team: UserTeamRecord) -> ProfileTeam:
        return cls(id=team.id, name=team.name, description=team.description,
                   organization_id=team.organization_id, role=team.role)  # type: ignore[arg-type]


class ManagedBy(Struct, rename="camel"):
    """API.md Profile ``managedBy``: the directory that owns name, email and phone."""

    type: Literal["scim"]
    organization_id: uuid.UUID


class Profile(Struct, rename="camel"):
    """API.md Profile. ``displayName``: the nickname, else the name; ``imageUrl``: the
    avatar; ``activeContext``: only on your own profile, null when none."""

    id: uuid.UUID
    email: str
    name: str | None
    display_name: str | None
    image_url: str | None
    phone_number: str | None
    email_verified: bool
    phone_verified: bool
    roles: list[str]
    is_active: bool
    account_type: Literal["personal", "organization"]
    personal: PersonalProfile | None
    organizations: list[ProfileOrganization]
    active_context: ProfileContext | None
    teams: list[ProfileTeam]
    managed_by: ManagedBy | None
    two_factor: TwoFactorSummary
    mobile_enabled: bool
    devices: list[DeviceSummary]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: UserRecord, devices: Sequence[PushDeviceRecord] = (), *,
           organizations: Sequence[tuple[OrganizationRecord, MembershipRecord]] = (),
           teams: Sequence[UserTeamRecord] = (),
           active_context: ActiveContext | None = None) -> Profile:
        """``devices``: the user's push devices, loaded only when ``push_device_count`` > 0;
        ``organizations`` and ``teams`` only when ``organization_count`` > 0 (the profile of
        an account without either costs one query; domain.users.profiles loads them)."""
        personal = None if user.personal_profile_id is None else PersonalProfile(
            id=user.personal_profile_id, nickname=user.nickname, avatar_url=user.avatar_url)
        context = None if active_context is None else ProfileContext(
            type=active_context.type, id=active_context.id)  # type: ignore[arg-type]
        return cls(id=user.id, email=user.email, name=user.name,
                   display_name=user.display_name, image_url=user.avatar_url,
                   phone_number=user.phone_number,
                   email_verified=user.email_verified_at is not None,
                   phone_verified=user.phone_verified_at is not None and bool(user.phone_number),
                   roles=list(user.roles), is_active=user.is_active,
                   account_type=user.account_type,  # type: ignore[arg-type]
                   personal=personal,
                   organizations=[ProfileOrganization.of(o, m) for o, m in organizations],
                   active_context=context, teams=[ProfileTeam.of(t) for t in teams],
                   managed_by=None if user.managed_by_organization_id is None else ManagedBy(
                       type="scim", organization_id=user.managed_by_organization_id),
                   two_factor=TwoFactorSummary(
                       totp_enabled=user.totp_enabled_at is not None,
                       sms_enabled=user.sms_two_factor_phone is not None,
                       backup_codes_remaining=user.backup_codes_remaining),
                   mobile_enabled=user.mobile_enabled,
                   devices=[DeviceSummary.of(d) for d in devices],
                   last_login_at=user.last_login_at, created_at=user.created_at,
                   updated_at=user.updated_at or user.created_at)

    @classmethod
    def of_profile(cls, found: UserProfile) -> Profile:
        """The wire shape of a profile read by domain.users.profiles."""
        return cls.of(found.user, found.devices, organizations=found.organizations,
                      teams=found.teams, active_context=found.active_context)
