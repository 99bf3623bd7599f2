"""Dependencies handed to handlers with ``Provide`` (Litestar DI)."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from domain.errors import Unauthenticated
from domain.services import RequestInfo, Services
from domain.sessions.access import authenticate
from domain.tokens import AccessClaims

REFRESH_COOKIE = "latchkey_refresh"


async def provide_services(state: State) -> Services:
    return state.services


def request_info(request: Request) -> RequestInfo:
    """Client IP (as uvicorn resolved it, proxy headers included) and user agent.

    A plain function rather than a dependency: a handler with two or more dependencies makes
    Litestar resolve them in an anyio task group, 10% of a refresh's CPU."""
    user_agent = request.headers.get("user-agent")
    return RequestInfo(ip_address=request.client.host if request.client else None,
                       user_agent=user_agent[:512] if user_agent else None)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any (RFC 6750 §2.1)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def provide_claims(request: Request, state: State) -> AccessClaims:
    """Claims of a valid access token of a live session; raises Unauthenticated."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("An access token is required.")
    return await authenticate(state.services, token)


async def provide_optional_claims(request: Request, state: State) -> AccessClaims | None:
    token = bearer_token(request)
    if token is None:
        return None
    try:
        return await authenticate(state.services, token)
    except Unauthenticated:
        return None


SIGNED_IN = {"claims": Provide(provide_claims)}
