"""Route guards: per-client-IP rate limits (settings.rate_limit_<name>), checked before the
body is read, shared across processes through Redis."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from domain.names import RateLimit


def rate_limit(name: RateLimit) -> Guard:
    """Guard applying ``settings.rate_limit_<name>`` per client IP; raises RateLimited."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        ip = connection.client.host if connection.client else "unknown"
        await connection.app.state.services.limit(name, ip)

    return guard
