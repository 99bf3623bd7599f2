"""Accounts: register, verify email, resend verification, profile — /v1/auth (API.md)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import Provide

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
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
from domain.names import RateLimit
from domain.services import Services
from domain.tokens import AccessClaims


class AccountController(Controller):
    path = "/v1/auth"
    tags = ["accounts"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/register", status_code=201, guards=[rate_limit(RateLimit.REGISTER)])
    async def register(self, request: Request, data: RegisterRequest, svc: Services
                       ) -> RegisterResponse:
        user = await accounts.register(svc, email=data.email, password=data.password,
                                       name=data.name, info=request_info(request))
        return RegisterResponse(id=user.id, email=user.email, name=user.name,
                                message="Check your inbox to verify your email address.")

    @post("/verify-email", status_code=200, guards=[rate_limit(RateLimit.TOKEN)])
    async def verify_email(self, request: Request, data: TokenRequest, svc: Services) -> Message:
        await accounts.verify_email(svc, token=data.token, info=request_info(request))
        return Message("Your email address is verified.")

    @post("/verify-email/resend", status_code=200,
          guards=[rate_limit(RateLimit.VERIFY_EMAIL_RESEND)])
    async def resend(self, request: Request, data: EmailRequest, svc: Services) -> Message:
        await accounts.resend_verification(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @get("/profile", dependencies=SIGNED_IN)
    async def profile(self, claims: AccessClaims) -> Profile:
        return Profile.of(await accounts.get_profile(claims.user_id))
