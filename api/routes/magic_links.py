"""Magic links — /v1/auth/magic-link (API.md)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from api.deps import provide_services, request_info
from api.guards import rate_limit
from api.openapi import problems
from api.routes.auth import SignedIn, signed_in
from api.schemas import (
    CHECK_INBOX,
    Camel,
    Email,
    Message,
    OpaqueToken,
    RefreshTransport,
)
from domain.names import RateLimit
from domain.passwordless import request_magic_link, verify_magic_link
from domain.services import Services


class MagicLinkRequest(Camel):
    email: Email


class MagicLinkVerifyRequest(Camel):
    token: OpaqueToken
    refresh_transport: RefreshTransport = "body"


class MagicLinkController(Controller):
    path = "/v1/auth/magic-link"
    tags = ["auth"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/request", status_code=200, guards=[rate_limit(RateLimit.MAGIC_LINK)],
          responses=problems(400, 429))
    async def request_link(self, request: Request, data: MagicLinkRequest, svc: Services
                           ) -> Message:
        """Email a sign-in link (valid 15 min, single use; several may be live at once) to an
        existing account. Always the same 200, whether or not the account exists; the 429s
        (per IP, per address) are the same for known and unknown addresses too."""
        await request_magic_link(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @post("/verify", status_code=200, guards=[rate_limit(RateLimit.TOKEN)],
          responses=problems(400, 429))
    async def verify(self, request: Request, data: MagicLinkVerifyRequest, svc: Services
                     ) -> SignedIn:
        """Sign in with the token from a magic link: a TokenPair (`amr: ["email"]`), or
        TwoFactorRequired when the account has two-factor on. Using the link marks the email
        verified. 400 `token_expired`, or `invalid_token` (unknown, used, or a deactivated
        account). With `refreshTransport: "cookie"` the refresh token is set as an HttpOnly
        cookie instead."""
        result = await verify_magic_link(svc, token=data.token, info=request_info(request))
        return await signed_in(result, data.refresh_transport, svc)


CONTROLLERS: list[type[Controller]] = [MagicLinkController]
