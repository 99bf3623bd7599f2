"""A signed-in user's view of their sessions: list, revoke one, revoke the others; and
ending every session of an account (password reset / change)."""

from __future__ import annotations

import uuid

from db.repositories import sessions
from domain.errors import NotFound
from domain.names import AuditAction, RevokeReason
from domain.records import SessionRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.unit_of_work import UnitOfWork


async def list_sessions(svc: Services, claims: AccessClaims) -> list[SessionRecord]:
    """The caller's live sessions, most recently used first."""
    return await sessions.list_active(claims.user_id, svc.clock())


async def revoke_session(svc: Services, claims: AccessClaims, session_id: uuid.UUID,
                         info: RequestInfo) -> None:
    """End one of the caller's own live sessions. raises NotFound for anything else
    (another user's session id is indistinguishable from an unknown one)."""
    async with svc.unit_of_work(info) as uow:
        if not await sessions.revoke(session_id, now=uow.now, reason=RevokeReason.REVOKED,
                                     user_id=claims.user_id):
            raise NotFound("No such session.")
        uow.audit(AuditAction.SESSION_REVOKED, claims.user_id, session_id=str(session_id))
        uow.end_sessions([session_id])


async def revoke_other_sessions(svc: Services, claims: AccessClaims, info: RequestInfo) -> int:
    """End every live session of the caller but the current one; returns how many."""
    async with svc.unit_of_work(info) as uow:
        return len(await end_all(uow, claims.user_id, reason=RevokeReason.REVOKED,
                                 keep=claims.session_id))


async def end_all(uow: UnitOfWork, user_id: uuid.UUID, *, reason: RevokeReason,
                  keep: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Revoke every live session of the user (but ``keep``), audit each, and deny-list them
    when ``uow`` commits; returns the ids ended."""
    ended = await sessions.revoke_all(user_id, now=uow.now, reason=reason, keep=keep)
    for session_id in ended:
        uow.audit(AuditAction.SESSION_REVOKED, user_id, session_id=str(session_id),
                  reason=reason.value)
    uow.end_sessions(ended)
    return ended
