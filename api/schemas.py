"""Request and response bodies (msgspec Structs, camelCase on the wire; API.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from api.profile_schemas import Profile
from domain.records import AuditRecord, SessionRecord

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
