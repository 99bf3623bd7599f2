"""Mobile access for an account: on/off, and its paired devices (live mobile sessions)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db.repositories import pairing, users
from domain.errors import NotFound, Unauthenticated
from domain.names import AuditAction, RevokeReason
from domain.records import SessionRecord, UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class MobileStatus:
    """Whether the account may pair devices, and its live mobile sessions (newest use first)."""

    is_enabled: bool
    sessions: list[SessionRecord]


async def status(svc: Services, claims: AccessClaims) -> MobileStatus:
    """The caller's mobile status. raises Unauthenticated (the account is gone)."""
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    return MobileStatus(user.mobile_enabled,
                        await pairing.list_devices(claims.user_id, svc.clock()))


async def enable(svc: Services, claims: AccessClaims, info: RequestInfo) -> UserRecord:
    """Let the caller's account pair devices; audited when it changes (idempotent). Returns
    the account as it now is. raises Unauthenticated (the account is gone)."""
    async with svc.unit_of_work(info) as uow:
        await pairing.lock_user(claims.user_id)
        if await pairing.set_mobile_enabled(claims.user_id, True, uow.now):
            uow.audit(AuditAction.MOBILE_ENABLED, claims.user_id,
                      session_id=str(claims.session_id))
        user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    return user


async def disable(svc: Services, claims: AccessClaims, info: RequestInfo) -> int:
    """Turn mobile access off: every paired device's session ends at once (deny-listed on
    commit, reason ``mobile_disabled``) and pending pairing tokens are deleted; used ones
    stay as the record of past pairings. Idempotent; returns the sessions ended."""
    async with svc.unit_of_work(info) as uow:
        await pairing.lock_user(claims.user_id)  # no pair can slip in between (same lock)
        changed = await pairing.set_mobile_enabled(claims.user_id, False, uow.now)
        deleted = await pairing.delete_pending(claims.user_id)
        ended = await _end(uow, claims.user_id, RevokeReason.MOBILE_DISABLED)
        if changed or deleted or ended:
            uow.audit(AuditAction.MOBILE_DISABLED, claims.user_id,
                      session_id=str(claims.session_id), devices_ended=len(ended),
                      pairing_tokens_deleted=deleted)
    return len(ended)


async def revoke_device(svc: Services, claims: AccessClaims, session_id: uuid.UUID,
                        info: RequestInfo) -> None:
    """Unpair one device: end the caller's live mobile session ``session_id``; the other
    devices keep working. raises NotFound for anything else (a web session, another
    user's, an ended one: indistinguishable from an unknown id)."""
    async with svc.unit_of_work(info) as uow:
        if not await _end(uow, claims.user_id, RevokeReason.REVOKED, session_id=session_id):
            raise NotFound("No such mobile session.")


async def revoke_all_devices(svc: Services, claims: AccessClaims, info: RequestInfo) -> int:
    """Unpair every device of the caller (the caller's own session too, when it is one);
    returns how many sessions ended."""
    async with svc.unit_of_work(info) as uow:
        return len(await _end(uow, claims.user_id, RevokeReason.REVOKED))


async def _end(uow: UnitOfWork, user_id: uuid.UUID, reason: RevokeReason,
               session_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    ended = await pairing.revoke_devices(user_id, now=uow.now, reason=reason.value,
                                         session_id=session_id)
    for ended_id in ended:
        uow.audit(AuditAction.SESSION_REVOKED, user_id, session_id=str(ended_id),
                  reason=reason.value, kind="mobile")
    uow.end_sessions(ended)
    return ended
