"""Record types: what db/ repositories return and the API maps from.

Plain frozen dataclasses with no behaviour and no imports from the project, so the
repositories below the domain can build them (the layers contract allows db/ exactly this
one import from domain/).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: uuid.UUID
    email: str
    password_hash: str = field(repr=False)
    name: str | None
    email_verified_at: datetime | None
    roles: list[str]
    is_active: bool
    created_at: datetime
    phone_number: str | None = None  # E.164
    phone_verified_at: datetime | None = None
    mobile_enabled: bool = False
    totp_enabled_at: datetime | None = None
    sms_two_factor_phone: str | None = None  # E.164; set once SMS two-factor is verified
    backup_codes_remaining: int = 0
    push_device_count: int = 0
    account_type: str = "personal"  # AccountType
    nickname: str | None = None
    avatar_url: str | None = None
    personal_profile_id: uuid.UUID | None = None  # the personal context's id, if any
    last_login_at: datetime | None = None
    updated_at: datetime | None = None
    organization_count: int = 0  # memberships of any status; 0: no organization query needed
    # the organization whose SCIM directory owns name, email and phone (API.md ``managedBy``)
    managed_by_organization_id: uuid.UUID | None = None
    created_by_scim: bool = False  # SCIM made it: that directory's DELETE may erase it

    @property
    def display_name(self) -> str | None:
        """The nickname, else the name (API.md Profile ``displayName``)."""
        return self.nickname or self.name

    @property
    def two_factor_methods(self) -> list[str]:
        """Second factors this account can answer a challenge with, strongest first
        (``totp``, ``sms``, ``backup``); empty when two-factor is off."""
        methods = [m for m, on in (("totp", self.totp_enabled_at is not None),
                                   ("sms", self.sms_two_factor_phone is not None)) if on]
        if methods and self.backup_codes_remaining:
            methods.append("backup")
        return methods


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session as its owner sees it (API.md Session). amr: RFC 8176 values."""

    id: uuid.UUID
    kind: str
    amr: tuple[str, ...]
    device_name: str | None
    platform: str | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveContext:
    """A session's active context (API.md POST /v1/auth/context), carried as ``ctx``.
    type: a ContextType value; id: the organization's or the personal profile's id;
    org_role: the member's current role when ``type`` is organization (``orgRole``)."""

    type: str
    id: uuid.UUID
    org_role: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """A refresh token joined with its session and user, as the rotation needs it."""

    id: uuid.UUID
    session_id: uuid.UUID
    rotated_at: datetime | None
    session_kind: str
    session_amr: tuple[str, ...]
    session_created_at: datetime
    session_expires_at: datetime
    session_revoked_at: datetime | None
    session_device: str | None
    session_ip: str | None
    session_user_agent: str | None
    user: UserRecord
    session_signed_in_at: datetime | None = None  # the session's auth_time (None: created_at)
    session_context: ActiveContext | None = None  # None when none or no longer valid


@dataclass(frozen=True, slots=True)
class OneTimeTokenRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class PushDeviceRecord:
    """A registered push target as its owner sees it (the token itself is not shown)."""

    id: uuid.UUID
    platform: str
    device_name: str | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class TwoFactorChallengeRecord:
    """A pending sign-in waiting for its second factor. first_factor: an amr value."""

    id: uuid.UUID
    user_id: uuid.UUID
    first_factor: str
    device_name: str | None
    attempts: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class OtpCodeRecord:
    """A short numeric code: its keyed HMAC, never the code. attempts: wrong guesses so far."""

    id: uuid.UUID
    code_hmac: str = field(repr=False)
    attempts: int
    expires_at: datetime
    target: str | None = None  # the address or E.164 number the code was sent to


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    channel: str
    recipient: str
    data: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: uuid.UUID
    action: str
    ip_address: str | None
    user_agent: str | None
    metadata: dict[str, Any]
    created_at: datetime
    user_id: uuid.UUID | None = None  # whom it concerns (an organization's feed shows it)
    actor_id: uuid.UUID | None = None  # who acted, when not the user


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """One audit row to write. actor_id: who acted when not the user (an admin)."""

    action: str
    user_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    ip_address: str | None
    user_agent: str | None
    metadata: dict[str, Any]
    created_at: datetime
    organization_id: uuid.UUID | None = None  # the organization the event concerns


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One outbox row to write. data: template values, never a secret."""

    id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    user_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    """API.md Organization. timezone: an IANA zone name."""

    id: uuid.UUID
    name: str
    legal_business_name: str | None
    dba_name: str | None
    contact_email: str
    timezone: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A person's place in an organization. role: OrganizationRole; status: MembershipStatus."""

    id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A membership with the member's account fields (API.md GET /v1/organizations/{id}/members).
    created_at: when they joined."""

    id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    status: str
    created_at: datetime
    email: str
    name: str | None


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    """An invitation to an organization (API.md POST /v1/organizations/{id}/invitations).
    role: OrganizationRole. expires_at: set when queued, reset by the worker when it sends
    the email (the token's lifetime starts then). The token's hash is never part of it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: str
    invited_by: uuid.UUID | None
    expires_at: datetime | None
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A team of an organization (API.md ``/v1/organizations/{id}/teams``)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TeamMemberRecord:
    """A person in a team with their account's email and name. role: TeamRole;
    created_at: when they joined the team."""

    team_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    created_at: datetime
    email: str
    name: str | None


@dataclass(frozen=True, slots=True)
class UserTeamRecord:
    """One of a person's teams as their profile lists it (API.md Profile ``teams``).
    role: TeamRole."""

    id: uuid.UUID
    name: str
    description: str | None
    organization_id: uuid.UUID
    role: str


# Enterprise directory (issue 14)


@dataclass(frozen=True, slots=True)
class SsoConnectionRecord:
    """An organization's OpenID Connect provider (API.md SsoConnection). allowed_domains:
    lower-case email domains it links and creates accounts for. The secret stays encrypted
    (decrypt with domain.encryption.SecretBox only to call the provider)."""

    id: uuid.UUID
    organization_id: uuid.UUID | None  # None: the deployment-wide provider of OIDC_* settings
    issuer: str
    client_id: str
    client_secret_encrypted: str = field(repr=False)
    trust_provider_mfa: bool
    jit_provisioning: bool
    allowed_domains: tuple[str, ...]
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # those of allowed_domains the operator verified the organization owns (all of them for
    # the deployment-wide provider): only these may be linked by email or created in
    verified_domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IdentityLinkRecord:
    """An account's identity at a provider: (issuer, subject) -> user_id (OIDC Core §5.7)."""

    id: uuid.UUID
    user_id: uuid.UUID
    issuer: str
    subject: str
    organization_id: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True, slots=True)
class SsoLoginRecord:
    """A single sign-on attempt (table sso_logins): started (state), called back (code and
    user set), exchanged (code used). organization_id None: the deployment-wide provider."""

    id: uuid.UUID
    organization_id: uuid.UUID | None
    redirect_to: str
    expires_at: datetime
    state_used_at: datetime | None
    user_id: uuid.UUID | None
    code_expires_at: datetime | None
    code_used_at: datetime | None
    provider_mfa: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ScimTokenRecord:
    """An organization's SCIM bearer token, without the token (only its hash is stored)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    description: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
