"""Sign-in, refresh and sign-out — /v1/auth (API.md)."""

from __future__ import annotations

import uuid
from typing import Literal

from litestar import Controller, Request, Response, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from msgspec import Struct

from api.deps import (
    REFRESH_COOKIE,
    SIGNED_IN,
    provide_optional_claims,
    provide_services,
    request_info,
)
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.schemas import (
    Camel,
    Profile,
    RefreshRequest,
    SignInRequest,
    SignOutRequest,
    TokenPairResponse,
    TwoFactorRequiredResponse,
)
from domain.errors import Unauthenticated
from domain.names import ContextType, RateLimit
from domain.services import Services
from domain.sessions.context import switch_context
from domain.sessions.opening import TokenPair
from domain.sessions.refresh import refresh, sign_out
from domain.sessions.signin import sign_in
from domain.tokens import AccessClaims
from domain.two_factor.challenge import TwoFactorRequired
from domain.users import profiles

SignedIn = Response[TokenPairResponse | TwoFactorRequiredResponse]


class ContextRequest(Camel):
    """contextId: the organization's id, or the caller's personal profile id."""

    context_type: Literal["organization", "personal"]
    context_id: uuid.UUID


class AccessTokenResponse(Struct, rename="camel"):
    access_token: str
    expires_in: int
    token_type: Literal["Bearer"]


async def signed_in(result: TokenPair | TwoFactorRequired, transport: str, svc: Services
                    ) -> SignedIn:
    """A TokenPair response, or TwoFactorRequired when a second factor must follow."""
    if isinstance(result, TwoFactorRequired):
        return Response(TwoFactorRequiredResponse(
            requires_two_factor=True, two_factor_token=result.token,
            two_factor_methods=result.methods))  # type: ignore[arg-type]
    return await token_pair(result, transport, svc)  # type: ignore[return-value]


async def token_pair(pair: TokenPair, transport: str, svc: Services
                     ) -> Response[TokenPairResponse]:
    """TokenPair body; with ``transport="cookie"`` the refresh token goes in an HttpOnly,
    SameSite=Strict cookie scoped to /v1/auth instead (API.md conventions)."""
    body = TokenPairResponse(access_token=pair.access_token, expires_in=pair.expires_in,
                             token_type="Bearer", user=Profile.of_profile(
                                 await profiles.pair_profile(pair.user, pair.context)),
                             refresh_token=None if transport == "cookie" else pair.refresh_token)
    cookies = []
    if transport == "cookie":
        cookies.append(refresh_cookie(pair.refresh_token, pair.refresh_expires_in, svc))
    return Response(body, cookies=cookies)


def refresh_cookie(value: str, max_age: int, svc: Services) -> Cookie:
    """The refresh-token cookie: HttpOnly, SameSite=Strict, /v1/auth, Secure outside
    development; max_age 0 clears it with the very same attributes (RFC 6265 §5.3)."""
    return Cookie(key=REFRESH_COOKIE, value=value, httponly=True, samesite="strict",
                  secure=not svc.settings.is_development, path="/v1/auth", max_age=max_age)


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/signin", status_code=200, guards=[rate_limit(RateLimit.SIGNIN)],
          responses=problems(400, 401, 403, 429, 503))
    async def signin(self, request: Request, data: SignInRequest, svc: Services
                     ) -> Response[TokenPairResponse | TwoFactorRequiredResponse]:
        """Sign in with email and password; opens a session and returns a TokenPair, or
        TwoFactorRequired when the account has two-factor on (then answer the challenge).

        401 `invalid_credentials`, the same for an unknown email, a wrong password and a locked
        account; 403 `email_not_verified` only after a correct password. With
        `refreshTransport: "cookie"` the refresh token is set as an HttpOnly cookie instead.
        """
        result = await sign_in(svc, email=data.email, password=data.password,
                               device_name=data.device_name, info=request_info(request))
        return await signed_in(result, data.refresh_transport, svc)

    @post("/refresh", status_code=200, guards=[rate_limit(RateLimit.REFRESH)],
          responses=problems(400, 401, 429))
    async def refresh(self, request: Request, svc: Services,
                      data: RefreshRequest | None = None) -> Response[TokenPairResponse]:
        """Rotate a refresh token (body or cookie) for a new TokenPair.

        Replaying a rotated token after the 10 s grace window ends the whole session:
        401 `token_reuse_detected`.
        """
        body_token = data.refresh_token if data else None
        token = body_token or request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise Unauthenticated("A refresh token is required.")
        transport = data.refresh_transport if body_token and data else "cookie"
        pair = await refresh(svc, refresh_token=token, info=request_info(request))
        return await token_pair(pair, transport, svc)

    @post("/signout", status_code=204,
          dependencies={"claims": Provide(provide_optional_claims)}, security=BEARER,
          responses=problems(400))
    async def signout(self, request: Request, svc: Services, claims: AccessClaims | None,
                      data: SignOutRequest | None = None) -> Response[None]:
        """End the session of the refresh token (body or cookie), else of the Bearer token.
        Idempotent; its access tokens stop working at once."""
        token = (data.refresh_token if data else None) or request.cookies.get(REFRESH_COOKIE)
        await sign_out(svc, refresh_token=token, access_claims=claims,
                       info=request_info(request))
        return Response(None, status_code=204, cookies=[refresh_cookie("", 0, svc)])

    @post("/context", status_code=200, security=BEARER, dependencies=SIGNED_IN,
          guards=[rate_limit(RateLimit.CONTEXT)], responses=problems(400, 401, 403, 429))
    async def context(self, request: Request, svc: Services, claims: AccessClaims,
                      data: ContextRequest) -> AccessTokenResponse:
        """Switch this session's active context: an access token whose claims carry
        `ctx: {type, id}` and, for an organization, `orgRole` (the member's current role).
        The session keeps it: every refresh issues it again (the refresh token stays valid)
        until the membership ends or is suspended.

        403 `authorization_denied` when the caller is not an active member of the
        organization (or it does not exist), or the personal profile is not theirs;
        429 past 10 switches a minute per IP.
        """
        switched = await switch_context(svc, claims, context_type=ContextType(data.context_type),
                                        context_id=data.context_id, info=request_info(request))
        return AccessTokenResponse(switched.access_token, switched.expires_in, "Bearer")
