"""Accounts: register, verify email, resend verification, profile — /v1/auth (API.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, Request, get, post
from litestar.di import Provide
from msgspec import Meta

from api import schemas
from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.schemas import (
    CHECK_INBOX,
    PRINTABLE,
    Camel,
    Email,
    EmailRequest,
    Message,
    NewPassword,
    Profile,
    TokenRequest,
)
from domain import accounts
from domain.accounts.signup import AccountChoice
from domain.names import AccountType, RateLimit
from domain.organizations.creation import OrganizationFields
from domain.records import UserRecord
from domain.services import Services
from domain.tokens import AccessClaims
from domain.users import profiles

VERIFY_SENT = "Check your inbox to verify your email address."
OrganizationName = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE,
                                       examples=["Acme Events"])]
Timezone = Annotated[str, Meta(min_length=1, max_length=64, pattern=PRINTABLE,
                               examples=["Europe/Berlin"], description="An IANA time zone "
                               "name (default UTC).")]
Nickname = Annotated[str, Meta(min_length=1, max_length=100, pattern=PRINTABLE,
                               examples=["Annie"])]


class SignUpOrganization(Camel):
    """The organization an organization account creates; contactEmail defaults to the
    account's email."""

    name: OrganizationName
    legal_business_name: OrganizationName | None = None
    dba_name: OrganizationName | None = None
    contact_email: Email | None = None
    timezone: Timezone | None = None

    def fields(self) -> OrganizationFields:
        return OrganizationFields(self.name, self.legal_business_name, self.dba_name,
                                  self.contact_email, self.timezone)


class SignUpPersonal(Camel):
    nickname: Nickname | None = None


class RegisterRequest(schemas.RegisterRequest):
    """accountType personal (default) or organization (then organization is required)."""

    account_type: Literal["personal", "organization"] = "personal"
    organization: SignUpOrganization | None = None
    personal: SignUpPersonal | None = None

    def choice(self) -> AccountChoice:
        return AccountChoice(
            account_type=AccountType(self.account_type),
            organization=self.organization.fields() if self.organization else None,
            nickname=self.personal.nickname if self.personal else None)


class RegisterResponse(schemas.RegisterResponse):
    account_type: Literal["personal", "organization"]

    @classmethod
    def of(cls, user: UserRecord) -> RegisterResponse:
        return cls(id=user.id, email=user.email, name=user.name, message=VERIFY_SENT,
                   account_type=user.account_type)  # type: ignore[arg-type]


class PersonalRegisterRequest(Camel):
    email: Email
    password: NewPassword
    nickname: Nickname


class PersonalRegisterResponse(Camel):
    id: uuid.UUID
    email: str
    nickname: str
    message: str


class AccountController(Controller):
    path = "/v1/auth"
    tags = ["accounts"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/register", status_code=201, guards=[rate_limit(RateLimit.REGISTER)],
          responses=problems(400, 409, 429, 503))
    async def register(self, request: Request, data: RegisterRequest, svc: Services
                       ) -> RegisterResponse:
        """Create an unverified account and email a verification link (valid 24 h).
        `accountType: organization` also creates `organization` with the account as its
        owner, in the same transaction; a personal account may carry `personal.nickname`.

        409 `email_taken` when the address is taken (emails compare case-insensitively).
        """
        user = await accounts.register(svc, email=data.email, password=data.password,
                                       name=data.name, choice=data.choice(),
                                       info=request_info(request))
        return RegisterResponse.of(user)

    @post("/register/personal", status_code=201, guards=[rate_limit(RateLimit.REGISTER)],
          responses=problems(400, 409, 429, 503))
    async def register_personal(self, request: Request, data: PersonalRegisterRequest,
                                svc: Services) -> PersonalRegisterResponse:
        """The quick personal sign-up: a personal account with a nickname; the same
        verification email and limits as `/register`. 409 `email_taken` likewise."""
        user = await accounts.register_personal(
            svc, email=data.email, password=data.password, nickname=data.nickname,
            info=request_info(request))
        return PersonalRegisterResponse(id=user.id, email=user.email,
                                        nickname=user.nickname or "", message=VERIFY_SENT)

    @post("/verify-email", status_code=200, guards=[rate_limit(RateLimit.TOKEN)],
          responses=problems(400, 429))
    async def verify_email(self, request: Request, data: TokenRequest, svc: Services) -> Message:
        """Verify the email address with the token from the emailed link (single use).

        400 `invalid_token` (unknown, used, other purpose) or `token_expired`.
        """
        await accounts.verify_email(svc, token=data.token, info=request_info(request))
        return Message("Your email address is verified.")

    @post("/verify-email/resend", status_code=200,
          guards=[rate_limit(RateLimit.VERIFY_EMAIL_RESEND)], responses=problems(400, 429))
    async def resend(self, request: Request, data: EmailRequest, svc: Services) -> Message:
        """Send a fresh verification link; the old one stops working. Always the same 200,
        whether or not the address has an unverified account."""
        await accounts.resend_verification(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @get("/profile", dependencies=SIGNED_IN, security=BEARER, responses=problems(401))
    async def profile(self, claims: AccessClaims) -> Profile:
        """The signed-in user's profile (the same as GET /v1/users/me)."""
        return Profile.of_profile(await profiles.own_profile(claims))
