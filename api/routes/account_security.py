"""Password reset and change, sessions, and the audit trail: /v1/auth (API.md)."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter

from api.deps import provide_claims, provide_services, request_info
from api.guards import rate_limit
from api.routes.auth import CHECK_INBOX
from api.schemas import (
    ChangePasswordRequest,
    Event,
    EventPage,
    ForgotPasswordRequest,
    Message,
    ResetPasswordRequest,
    Revoked,
    SessionOut,
)
from domain import audit, credentials, session_admin
from domain.services import Services
from domain.tokens import AccessClaims

SIGNED_IN = {"claims": Provide(provide_claims)}


class PasswordController(Controller):
    path = "/v1/auth/password"
    tags = ["auth"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/forgot", status_code=200, guards=[rate_limit("password_forgot")])
    async def forgot(self, request: Request, data: ForgotPasswordRequest, svc: Services
                     ) -> Message:
        await credentials.forgot_password(svc, email=data.email, info=request_info(request))
        return Message(CHECK_INBOX)

    @post("/reset", status_code=200, guards=[rate_limit("token")])
    async def reset(self, request: Request, data: ResetPasswordRequest, svc: Services
                    ) -> Message:
        await credentials.reset_password(svc, token=data.token, new_password=data.new_password,
                                         info=request_info(request))
        return Message("Your password has been reset. Sign in with the new one.")

    @post("/change", status_code=200, dependencies=SIGNED_IN)
    async def change(self, request: Request, data: ChangePasswordRequest, svc: Services,
                     claims: AccessClaims) -> Message:
        await credentials.change_password(svc, claims, current_password=data.current_password,
                                          new_password=data.new_password,
                                          info=request_info(request))
        return Message("Your password has been changed. Other devices were signed out.")


class SessionController(Controller):
    path = "/v1/auth"
    tags = ["sessions"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @get("/sessions")
    async def sessions(self, svc: Services, claims: AccessClaims) -> list[SessionOut]:
        found = await session_admin.list_sessions(svc, claims)
        return [SessionOut.of(s, current=s.id == claims.session_id) for s in found]

    @delete("/sessions/{session_id:uuid}", status_code=204)
    async def revoke(self, request: Request, session_id: uuid.UUID, svc: Services,
                     claims: AccessClaims) -> None:
        await session_admin.revoke_session(svc, claims, session_id, request_info(request))

    @post("/sessions/revoke-others", status_code=200)
    async def revoke_others(self, request: Request, svc: Services, claims: AccessClaims
                            ) -> Revoked:
        return Revoked(await session_admin.revoke_other_sessions(svc, claims,
                                                                 request_info(request)))

    @get("/security-events")
    async def security_events(self, claims: AccessClaims, cursor: str | None = None,
                              limit: int = Parameter(default=20, ge=1, le=100)) -> EventPage:
        events, next_cursor = await audit.security_events(claims.user_id, limit=limit,
                                                          cursor=cursor)
        return EventPage(items=[Event(id=e.id, action=e.action, ip_address=e.ip_address,
                                      user_agent=e.user_agent, metadata=e.metadata,
                                      created_at=e.created_at) for e in events],
                         next_cursor=next_cursor)
