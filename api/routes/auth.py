"""Authentication flows: /v1/auth (API.md)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide

from api.deps import (
    REFRESH_COOKIE,
    provide_claims,
    provide_optional_claims,
    provide_services,
    request_info,
)
from api.guards import rate_limit
from api.schemas import (
    EmailRequest,
    Message,
    Profile,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    SignInRequest,
    SignOutRequest,
    TokenPairResponse,
    TokenRequest,
)
from domain import accounts, sessions
from domain.errors import Unauthenticated
from domain.services import Services
from domain.tokens import AccessClaims

CHECK_INBOX = "If the address can receive mail, a message is on its way."


def token_pair(pair: sessions.TokenPair, transport: str, svc: Services
               ) -> Response[TokenPairResponse]:
    """TokenPair body; with ``transport="cookie"`` the refresh token goes in an HttpOnly,
    SameSite=Strict cookie scoped to /v1/auth instead (API.md conventions)."""
    body = TokenPairResponse(access_token=pair.access_token, expires_in=pair.expires_in,
                             token_type="Bearer",
                             user=Profile.of(pair.user),
                             refresh_token=None if transport == "cookie" else pair.refresh_token)
    cookies = []
    if transport == "cookie":
        cookies.append(Cookie(key=REFRESH_COOKIE, value=pair.refresh_token, httponly=True,
                              samesite="strict", secure=not svc.settings.is_development,
                              path="/v1/auth", max_age=pair.refresh_expires_in))
    return Response(body, cookies=cookies)


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/register", status_code=201, guards=[rate_limit("register")])
    async def register(self, request: Request, data: RegisterRequest, svc: Services
                       ) -> RegisterResponse:
        user = await accounts.register(svc, email=data.email, password=data.password,
                                       name=data.name, info=request_info(request))
        return RegisterResponse(id=user.id, email=user.email, name=user.name,
                                message="Check your inbox to verify your email address.")

    @post("/verify-email", status_code=200, guards=[rate_limit("token")])
    async def verify_email(self, request: Request, data: TokenRequest, svc: Services) -> Message:
        await accounts.verify_email(svc, token=data.token, info=request_info(request))
        return Message("Your email address is verified.")

    @post("/verify-email/resend", status_code=200, guards=[rate_limit("verify_email_resend")])
    async def resend(self, request: Request, data: EmailRequest, svc: Services) -> Message:
        await accounts.resend_verification(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @post("/signin", status_code=200, guards=[rate_limit("signin")])
    async def signin(self, request: Request, data: SignInRequest, svc: Services
                     ) -> Response[TokenPairResponse]:
        pair = await sessions.sign_in(svc, email=data.email, password=data.password,
                                      device_name=data.device_name, info=request_info(request))
        return token_pair(pair, data.refresh_transport, svc)

    @post("/refresh", status_code=200, guards=[rate_limit("refresh")])
    async def refresh(self, request: Request, svc: Services,
                      data: RefreshRequest | None = None) -> Response[TokenPairResponse]:
        body_token = data.refresh_token if data else None
        token = body_token or request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise Unauthenticated("A refresh token is required.")
        transport = data.refresh_transport if body_token and data else "cookie"
        pair = await sessions.refresh(svc, refresh_token=token, info=request_info(request))
        return token_pair(pair, transport, svc)

    @post("/signout", status_code=204,
          dependencies={"claims": Provide(provide_optional_claims)})
    async def signout(self, request: Request, svc: Services, claims: AccessClaims | None,
                      data: SignOutRequest | None = None) -> Response[None]:
        token = (data.refresh_token if data else None) or request.cookies.get(REFRESH_COOKIE)
        await sessions.sign_out(svc, refresh_token=token, access_claims=claims,
                                info=request_info(request))
        response: Response[None] = Response(None, status_code=204)
        response.delete_cookie(REFRESH_COOKIE, path="/v1/auth")
        return response

    @get("/profile", dependencies={"claims": Provide(provide_claims)})
    async def profile(self, claims: AccessClaims) -> Profile:
        return Profile.of(await accounts.get_profile(claims.user_id))
