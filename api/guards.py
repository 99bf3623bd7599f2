"""Route guards, checked before the body is read: per-client-IP rate limits
(settings.rate_limit_<name>, shared across processes through Redis) and the admin role."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from api.deps import bearer_token
from domain.errors import Unauthenticated
from domain.names import RateLimit
from domain.sessions.access import authenticate
from domain.users.access import require_admin


def rate_limit(name: RateLimit) -> Guard:
    """Guard applying ``settings.rate_limit_<name>`` per client IP; raises RateLimited."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        ip = connection.client.host if connection.client else "unknown"
        await connection.app.state.services.limit(name, ip)

    return guard


async def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard of the admin routes: a valid access token of a live session (401 otherwise)
    whose account is an active admin, read fresh from the database (403 otherwise; see
    domain.users.access, where every role check lives)."""
    token = bearer_token(connection)  # type: ignore[arg-type]  # reads only the headers
    if token is None:
        raise Unauthenticated("An access token is required.")
    claims = await authenticate(connection.app.state.services, token)
    await require_admin(claims.user_id)
