"""Request and response bodies (msgspec Structs, camelCase on the wire; API.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from domain.records import AuditRecord, PushDeviceRecord, SessionRecord, UserRecord

CHECK_INBOX = "If the address can receive mail, a message is on its way."

# The wire limits published in the OpenAPI document. The domain applies the full rules with
# clearer messages (the password policy, PASSWORD_MIN_LENGTH >= 12). Text that is stored must
# not hold C0 control characters: PostgreSQL text cannot hold NUL (OWASP ASVS 5.1.4).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=PRINTABLE,
                            examples=["ann@example.com"], description="An email address.")]
# An existing password is checked by bcrypt whatever it holds; only new ones follow the rules.
Password = Annotated[str, Meta(min_length=1, max_length=128,
                               examples=["correct horse battery staple"])]
NewPassword = Annotated[str, Meta(
    min_length=12, max_length=128, pattern=PRINTABLE, examples=["correct horse battery staple"],
    description="12-128 characters (code points); must not contain the email's local part "
                "and must not be easy to guess (zxcvbn score >= PASSWORD_MIN_STRENGTH). "
                "No composition rules (NIST SP 800-63B 5.1.1.2).")]
OpaqueToken = Annotated[str, Meta(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_-]+$",
                                  examples=["x4Jq0b7p1a7CkzN6tC1c2u8w3j0kQmZ2H9f5Xe4bY7s"],
                                  description="A token as issued: base64url.")]
Name = Annotated[str, Meta(max_length=100, pattern=PRINTABLE, examples=["Ann"])]
DeviceName = Annotated[str, Meta(max_length=100, pattern=PRINTABLE, examples=["Ann's laptop"])]
RefreshTransport = Literal["body", "cookie"]


class Camel(Struct, rename="camel", omit_defaults=True):
    pass


class RegisterRequest(Camel):
    email: Email
    password: NewPassword
    name: Name | None = None


class TokenRequest(Camel):
    token: OpaqueToken


class EmailRequest(Camel):
    email: Email


class SignInRequest(Camel):
    email: Email
    password: Password
    device_name: DeviceName | None = None
    refresh_transport: RefreshTransport = "body"


class RefreshRequest(Camel):
    refresh_token: OpaqueToken | None = None
    refresh_transport: RefreshTransport = "body"


class SignOutRequest(Camel):
    refresh_token: OpaqueToken | None = None


class ForgotPasswordRequest(Camel):
    email: Email


class ResetPasswordRequest(Camel):
    token: OpaqueToken
    new_password: NewPassword


class ChangePasswordRequest(Camel):
    current_password: Password
    new_password: NewPassword


class SessionOut(Struct, rename="camel"):
    id: uuid.UUID
    current: bool
    kind: str
    device_name: str | None
    platform: str | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, session: SessionRecord, *, current: bool) -> SessionOut:
        return cls(id=session.id, current=current, kind=session.kind,
                   device_name=session.device_name, platform=session.platform,
                   user_agent=session.user_agent, ip_address=session.ip_address,
                   created_at=session.created_at, last_used_at=session.last_used_at,
                   expires_at=session.expires_at)


class Revoked(Camel):
    revoked: int


class Event(Struct, rename="camel"):
    id: uuid.UUID
    action: str
    ip_address: str | None
    user_agent: str | None
    metadata: dict[str, object]
    created_at: datetime

    @classmethod
    def of(cls, event: AuditRecord) -> Event:
        return cls(id=event.id, action=event.action, ip_address=event.ip_address,
                   user_agent=event.user_agent, metadata=event.metadata,
                   created_at=event.created_at)


class EventPage(Struct, rename="camel"):
    items: list[Event]
    next_cursor: str | None


class Message(Camel):
    message: str


class RegisterResponse(Camel):
    id: uuid.UUID
    email: str
    name: str | None
    message: str


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


class Profile(Struct, rename="camel"):
    id: uuid.UUID
    email: str
    name: str | None
    phone_number: str | None
    email_verified: bool
    phone_verified: bool
    roles: list[str]
    is_active: bool
    two_factor: TwoFactorSummary
    mobile_enabled: bool
    devices: list[DeviceSummary]
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, devices: Sequence[PushDeviceRecord] = ()) -> Profile:
        """``devices``: the user's push devices, loaded only when ``push_device_count`` > 0
        (the profile of an account without devices costs one query)."""
        return cls(id=user.id, email=user.email, name=user.name, phone_number=user.phone_number,
                   email_verified=user.email_verified_at is not None,
                   phone_verified=user.phone_verified_at is not None and bool(user.phone_number),
                   roles=list(user.roles), is_active=user.is_active,
                   two_factor=TwoFactorSummary(
                       totp_enabled=user.totp_enabled_at is not None,
                       sms_enabled=user.sms_two_factor_phone is not None,
                       backup_codes_remaining=user.backup_codes_remaining),
                   mobile_enabled=user.mobile_enabled,
                   devices=[DeviceSummary.of(d) for d in devices], created_at=user.created_at)


class TwoFactorRequiredResponse(Struct, rename="camel"):
    """The first factor was right and the account has two-factor on: answer the challenge at
    POST /v1/auth/two-factor/challenge/verify with ``twoFactorToken`` (API.md)."""

    requires_two_factor: Literal[True]
    two_factor_token: str
    two_factor_methods: list[Literal["totp", "sms", "backup"]]


class TokenPairResponse(Struct, rename="camel", omit_defaults=True):
    access_token: str
    expires_in: int
    user: Profile
    token_type: Literal["Bearer"]
    refresh_token: str | None = None  # omitted when it travels in the cookie


class Health(Camel):
    status: str


class Readiness(Camel):
    status: Literal["ok", "unavailable"]
    failed: list[Literal["database", "redis", "worker"]] = []
