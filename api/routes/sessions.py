"""A signed-in user's sessions — /v1/auth/sessions (API.md)."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide

from api.deps import SIGNED_IN, provide_services, request_info
from api.openapi import BEARER, problems
from api.schemas import Revoked, SessionOut
from domain.services import Services
from domain.sessions import management
from domain.tokens import AccessClaims


class SessionController(Controller):
    path = "/v1/auth/sessions"
    tags = ["sessions"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @get("/", security=BEARER, responses=problems(401))
    async def sessions(self, svc: Services, claims: AccessClaims) -> list[SessionOut]:
        """The caller's live sessions, most recently used first; `current: true` on this one."""
        found = await management.list_sessions(svc, claims)
        return [SessionOut.of(s, current=s.id == claims.session_id) for s in found]

    @delete("/{session_id:uuid}", status_code=204, security=BEARER,
            responses=problems(400, 401, 404))
    async def revoke(self, request: Request, session_id: uuid.UUID, svc: Services,
                     claims: AccessClaims) -> None:
        """End one of the caller's sessions (404 for anyone else's)."""
        await management.revoke_session(svc, claims, session_id, request_info(request))

    @post("/revoke-others", status_code=200, security=BEARER, responses=problems(401))
    async def revoke_others(self, request: Request, svc: Services, claims: AccessClaims
                            ) -> Revoked:
        """End every session of the caller but this one."""
        return Revoked(await management.revoke_other_sessions(svc, claims,
                                                              request_info(request)))
