"""Accounts: register, verify email, resend verification, profile — /v1/auth (API.md)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import Provide

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.schemas import (
    CHECK_INBOX,
    EmailRequest,
    Message,
    Profile,
    RegisterRequest,
    RegisterResponse,
    TokenRequest,
)
from domain import accounts
from domain.contacts import devices
from domain.names import RateLimit
from domain.services import Services
from domain.tokens import AccessClaims


class AccountController(Controller):
    path = "/v1/auth"
    tags = ["accounts"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/register", status_code=201, guards=[rate_limit(RateLimit.REGISTER)],
          responses=problems(400, 409, 429, 503))
    async def register(self, request: Request, data: RegisterRequest, svc: Services
                       ) -> RegisterResponse:
        """Create an unverified account and email a verification link (valid 24 h).

        409 `email_taken` when the address is taken (emails compare case-insensitively).
        """
        user = await accounts.register(svc, email=data.email, password=data.password,
                                       name=data.name, info=request_info(request))
        return RegisterResponse(id=user.id, email=user.email, name=user.name,
                                message="Check your inbox to verify your email address.")

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
        """The signed-in user's profile, with its push devices."""
        user = await accounts.get_profile(claims.user_id)
        # the count rides on the user row: no second query for an account without devices
        found = await devices.list_devices(user.id) if user.push_device_count > 0 else []
        return Profile.of(user, found)
