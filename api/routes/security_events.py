"""The caller's own audit trail — /v1/auth/security-events (API.md)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from api.deps import SIGNED_IN
from api.openapi import BEARER, problems
from api.schemas import Event, EventPage
from domain import audit
from domain.tokens import AccessClaims


class SecurityEventController(Controller):
    path = "/v1/auth/security-events"
    tags = ["sessions"]
    dependencies = SIGNED_IN

    @get("/", security=BEARER, responses=problems(400, 401))
    async def security_events(self, claims: AccessClaims, cursor: str | None = None,
                              limit: int = Parameter(default=20, ge=1, le=100)) -> EventPage:
        """The caller's own audit trail, newest first; pass `nextCursor` as `cursor`."""
        events, next_cursor = await audit.security_events(claims.user_id, limit=limit,
                                                          cursor=cursor)
        return EventPage(items=[Event.of(e) for e in events], next_cursor=next_cursor)
