"""Refresh-token rotation with reuse detection, and sign-out.

Refresh tokens rotate on every use (OAuth 2.0 Security BCP, RFC 9700 §4.14.2); a rotated
token replayed after the grace window is treated as stolen and its whole session (token
family) is revoked.
"""

from __future__ import annotations

from datetime import timedelta

from db.repositories import sessions
from domain.errors import TokenReuseDetected, Unauthenticated
from domain.messages import kinds
from domain.names import AuditAction, RevokeReason, SessionKind
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair, token_pair
from domain.tokens import AccessClaims, derive_child_token, hash_token


async def refresh(svc: Services, *, refresh_token: str, info: RequestInfo) -> TokenPair:
    """Rotate ``refresh_token`` and issue a new access token with the session's ``amr``,
    ``auth_time`` and active context (dropped when the membership is gone or suspended), all
    read in the statement that rotates (no extra round trip).

    Within ``refresh_reuse_grace`` seconds of a rotation the same token yields the same
    successor (retries and parallel tabs do not fork or kill the family).
    raises Unauthenticated (unknown/expired/revoked), TokenReuseDetected (replay after grace:
    the session is revoked, audited, deny-listed and its owner alerted).
    """
    now = svc.clock()
    grace = timedelta(seconds=svc.settings.refresh_reuse_grace)
    idle_expiry = now + timedelta(seconds=svc.settings.refresh_token_ttl)
    lifetime = timedelta(seconds=svc.settings.session_max_lifetime)
    child = derive_child_token(svc.settings.jwt_secret, refresh_token)
    current = await sessions.rotate_current(token_hash=hash_token(refresh_token), now=now,
                                            child_hash=hash_token(child),
                                            idle_expiry=idle_expiry, lifetime=lifetime)
    if current is not None:
        return token_pair(svc, current.user, current.session_id, child, current.amr,
                          signed_in_at=current.signed_in_at, context=current.context)
    reused = False
    async with svc.unit_of_work(info) as uow:
        record = await sessions.find_refresh_token_for_update(hash_token(refresh_token))
        if (record is None or record.session_revoked_at is not None
                or record.session_expires_at <= now or not record.user.is_active):
            raise Unauthenticated("The refresh token is invalid or expired.")
        if record.rotated_at is None:
            await sessions.mark_rotated(record.id, now)
            await sessions.add_refresh_token(session_id=record.session_id, now=now,
                                             token_hash=hash_token(child), parent_id=record.id)
            # a paired device's session has a fixed lifetime (MOBILE_SESSION_TTL), no sliding
            await sessions.touch(record.session_id, now=now, expires_at=(
                record.session_expires_at if record.session_kind == SessionKind.MOBILE
                else min(idle_expiry, record.session_created_at + lifetime)))
        elif now - record.rotated_at > grace:
            reused = True
            await sessions.revoke(record.session_id, now=now, reason=RevokeReason.TOKEN_REUSE)
            uow.audit(AuditAction.REFRESH_REUSE_DETECTED, record.user.id,
                      session_id=str(record.session_id))
            uow.alert(kinds.TOKEN_REUSE_ALERT, user=record.user, device_name=record.session_device,
                      device=RequestInfo(record.session_ip, record.session_user_agent))
            uow.end_sessions([record.session_id])
    if reused:
        raise TokenReuseDetected()
    return token_pair(svc, record.user, record.session_id, child, record.session_amr,
                      signed_in_at=record.session_signed_in_at or record.session_created_at,
                      context=record.session_context)


async def sign_out(svc: Services, *, refresh_token: str | None, access_claims: AccessClaims | None,
                   info: RequestInfo) -> None:
    """End the session named by the refresh token, else by the access token. Idempotent:
    unknown or already ended sessions are not an error."""
    found = None
    if refresh_token:
        found = await sessions.session_of_refresh_token(hash_token(refresh_token))
    if found is None and access_claims is not None:
        found = (access_claims.session_id, access_claims.user_id)
    if found is None:
        return
    session_id, user_id = found
    async with svc.unit_of_work(info) as uow:
        if await sessions.revoke(session_id, now=uow.now, reason=RevokeReason.SIGNOUT):
            uow.audit(AuditAction.SIGNED_OUT, user_id, session_id=str(session_id))
        uow.end_sessions([session_id])  # again when already revoked: the deny-list may lag
