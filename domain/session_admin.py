"""A signed-in user's view of their sessions: list, revoke one, revoke the others; and
ending every session of an account (password reset / change)."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.repositories import audit, sessions
from db.repositories.sessions import SessionRecord
from db.transaction import transaction
from domain.errors import NotFound
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims


async def list_sessions(svc: Services, claims: AccessClaims) -> list[SessionRecord]:
    """The caller's live sessions, most recently used first."""
    return await sessions.list_active(claims.user_id, svc.clock())


async def revoke_session(svc: Services, claims: AccessClaims, session_id: uuid.UUID,
                         info: RequestInfo) -> None:
    """End one of the caller's own live sessions. raises NotFound for anything else
    (another user's session id is indistinguishable from an unknown one)."""
    now = svc.clock()
    async with transaction():
        if not await sessions.revoke(session_id, now=now, reason="revoked",
                                     user_id=claims.user_id):
            raise NotFound("No such session.")
        await audit.record("auth.session.revoked", user_id=claims.user_id, now=now,
                           ip_address=info.ip_address, user_agent=info.user_agent,
                           metadata={"session_id": str(session_id)})
    await svc.denylist.add(session_id, svc.settings.access_token_ttl)


async def revoke_other_sessions(svc: Services, claims: AccessClaims, info: RequestInfo) -> int:
    """End every live session of the caller but the current one; returns how many."""
    now = svc.clock()
    async with transaction():
        ended = await end_all(claims.user_id, now=now, reason="revoked", info=info,
                              keep=claims.session_id)
    await deny(svc, ended)
    return len(ended)


async def end_all(user_id: uuid.UUID, *, now: datetime, reason: str, info: RequestInfo,
                  keep: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Revoke every live session of the user (but ``keep``) and audit each; call inside a
    transaction, then :func:`deny` the returned ids after commit."""
    ended = await sessions.revoke_all(user_id, now=now, reason=reason, keep=keep)
    for session_id in ended:
        await audit.record("auth.session.revoked", user_id=user_id, now=now,
                           ip_address=info.ip_address, user_agent=info.user_agent,
                           metadata={"session_id": str(session_id), "reason": reason})
    return ended


async def deny(svc: Services, session_ids: list[uuid.UUID]) -> None:
    """Make the sessions' access tokens fail on the very next request (one round trip)."""
    await svc.denylist.add_many(session_ids, svc.settings.access_token_ttl)
