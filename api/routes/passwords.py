"""Password reset and change — /v1/auth/password (API.md)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.schemas import (
    CHECK_INBOX,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    Message,
    ResetPasswordRequest,
)
from domain.names import RateLimit
from domain.passwords import recovery
from domain.services import Services
from domain.tokens import AccessClaims


class PasswordController(Controller):
    path = "/v1/auth/password"
    tags = ["passwords"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/forgot", status_code=200, guards=[rate_limit(RateLimit.PASSWORD_FORGOT)],
          responses=problems(400, 429))
    async def forgot(self, request: Request, data: ForgotPasswordRequest, svc: Services
                     ) -> Message:
        """Email a password reset link (1 h, single use) to an existing account. Always the
        same 200, whether or not the account exists."""
        await recovery.forgot_password(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @post("/reset", status_code=200, guards=[rate_limit(RateLimit.TOKEN)],
          responses=problems(400, 429, 503))
    async def reset(self, request: Request, data: ResetPasswordRequest, svc: Services
                    ) -> Message:
        """Set a new password with the token from the reset link. Every session ends; no
        automatic sign-in. 400 `invalid_token`, `token_expired` or a password rule."""
        await recovery.reset_password(svc, token=data.token, new_password=data.new_password,
                                      info=request_info(request))
        return Message("Your password has been reset. Sign in with the new one.")

    @post("/change", status_code=200, dependencies=SIGNED_IN, security=BEARER,
          responses=problems(400, 401, 429, 503))
    async def change(self, request: Request, data: ChangePasswordRequest, svc: Services,
                     claims: AccessClaims) -> Message:
        """Change the password; every other session ends. 400 names `currentPassword` when
        it is wrong."""
        await recovery.change_password(svc, claims, current_password=data.current_password,
                                       new_password=data.new_password,
                                       info=request_info(request))
        return Message("Your password has been changed. Other devices were signed out.")
