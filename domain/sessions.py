"""Session use cases: sign in, rotate refresh tokens with reuse detection, sign out, and
authenticate access tokens.

Refresh tokens rotate on every use (OAuth 2.0 Security BCP, RFC 9700 §4.14.2); a rotated
token replayed after the grace window is treated as stolen and its whole session (token
family) is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.repositories import audit, sessions, users
from db.repositories.users import UserRecord
from db.transaction import transaction
from domain.accounts import normalize_email
from domain.alerts import Alert, queue_alert
from domain.devices import describe
from domain.errors import (
    AccountDisabled,
    EmailNotVerified,
    InvalidCredentials,
    TokenReuseDetected,
    Unauthenticated,
    ValidationFailed,
)
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims, derive_child_token, hash_token, new_opaque_token


@dataclass(frozen=True, slots=True)
class TokenPair:
    """Result of sign-in and refresh. expires_in: seconds of the access token."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    user: UserRecord
    refresh_expires_in: int


async def sign_in(svc: Services, *, email: str, password: str, device_name: str | None,
                  info: RequestInfo) -> TokenPair:
    """Password sign-in; opens a web session.

    raises InvalidCredentials for an unknown email, a wrong password and a locked account
    alike (same body; one bcrypt check for the first two), then EmailNotVerified /
    AccountDisabled only after a correct password. After ``lockout_threshold`` failures in
    ``lockout_window`` s the account refuses passwords for ``lockout_duration`` s.
    """
    try:
        email = normalize_email(email)
    except ValidationFailed:
        email = ""
    attempt, lockout_ended = await svc.lockout.begin(email or "-")
    user = await users.get_by_email(email) if email else None
    now = svc.clock()
    if user is not None and lockout_ended:
        await _audit(user.id, "auth.lockout.ended", now, info, reason="expired")
    if attempt is None:  # locked: no password check at all, so guesses learn nothing
        if user is not None:
            await _audit(user.id, "auth.signin.failed", now, info, reason="locked")
        raise InvalidCredentials()
    ok = await svc.hasher.verify(password, user.password_hash if user else None)
    if not ok or user is None:
        locked = await svc.lockout.failed(email or "-", attempt)
        if user is not None:
            await _audit(user.id, "auth.signin.failed", now, info, reason="bad_credentials")
            if locked:
                await _audit(user.id, "auth.lockout.started", now, info,
                             seconds=svc.settings.lockout_duration)
        raise InvalidCredentials()
    await svc.lockout.succeeded(email)
    if not user.is_active:
        raise AccountDisabled()
    if user.email_verified_at is None:
        raise EmailNotVerified()
    return await _open_session(svc, user, password, device_name, info)


async def _open_session(svc: Services, user: UserRecord, password: str,
                        device_name: str | None, info: RequestInfo) -> TokenPair:
    now = svc.clock()
    new_hash = await svc.hasher.hash(password) if svc.hasher.needs_rehash(user.password_hash) \
        else None
    derived_name, platform = describe(info.user_agent)
    new_device = await audit.is_new_device(
        user.id, info.user_agent, since=now - timedelta(seconds=svc.settings.new_device_window))
    refresh = new_opaque_token()
    lifetime = min(svc.settings.refresh_token_ttl, svc.settings.session_max_lifetime)
    message_id = None
    async with transaction():
        if new_hash:
            await users.set_password_hash(user.id, new_hash, now)
        session_id = await sessions.create(
            user_id=user.id, kind="web", now=now, expires_at=now + timedelta(seconds=lifetime),
            device_name=device_name or derived_name, platform=platform,
            user_agent=info.user_agent, ip_address=info.ip_address)
        await sessions.add_refresh_token(session_id=session_id, token_hash=hash_token(refresh),
                                         now=now)
        await _audit(user.id, "auth.signin.succeeded", now, info, session_id=str(session_id),
                     device=device_name or derived_name)
        if new_device:
            message_id = await queue_alert(Alert.NEW_DEVICE, user=user, now=now, info=info,
                                           device_name=device_name)
    if message_id:
        await svc.dispatch([message_id])
    return _pair(svc, user, session_id, refresh)


async def _audit(user_id: uuid.UUID, action: str, now: datetime, info: RequestInfo,
                 **metadata: object) -> None:
    await audit.record(action, user_id=user_id, now=now, ip_address=info.ip_address,
                       user_agent=info.user_agent, metadata=metadata)


async def refresh(svc: Services, *, refresh_token: str, info: RequestInfo) -> TokenPair:
    """Rotate ``refresh_token`` and issue a new access token.

    Within ``refresh_reuse_grace`` seconds of a rotation the same token yields the same
    successor (retries and parallel tabs do not fork or kill the family).
    raises Unauthenticated (unknown/expired/revoked), TokenReuseDetected (replay after grace:
    the session is revoked, audited and deny-listed).
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
        return _pair(svc, current[1], current[0], child)
    reused = False
    async with transaction():
        record = await sessions.find_refresh_token_for_update(hash_token(refresh_token))
        if (record is None or record.session_revoked_at is not None
                or record.session_expires_at <= now or not record.user.is_active):
            raise Unauthenticated("The refresh token is invalid or expired.")
        if record.rotated_at is None:
            await sessions.mark_rotated(record.id, now)
            await sessions.add_refresh_token(session_id=record.session_id, now=now,
                                             token_hash=hash_token(child), parent_id=record.id)
            await sessions.touch(record.session_id, now=now,
                                 expires_at=min(idle_expiry, record.session_created_at + lifetime))
        elif now - record.rotated_at > grace:
            reused = True
            await sessions.revoke(record.session_id, now=now, reason="token_reuse")
            await _audit(record.user.id, "auth.refresh.reuse_detected", now, info,
                         session_id=str(record.session_id))
            device = RequestInfo(record.session_ip, record.session_user_agent)
            alert = await queue_alert(Alert.TOKEN_REUSE, user=record.user, now=now,
                                      info=device, device_name=record.session_device)
    if reused:
        await svc.denylist.add(record.session_id, svc.settings.access_token_ttl)
        await svc.dispatch([alert])
        raise TokenReuseDetected()
    return _pair(svc, record.user, record.session_id, child)


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
    now = svc.clock()
    async with transaction():
        if await sessions.revoke(session_id, now=now, reason="signout"):
            await _audit(user_id, "auth.signout", now, info, session_id=str(session_id))
    await svc.denylist.add(session_id, svc.settings.access_token_ttl)


async def authenticate(svc: Services, access_token: str) -> AccessClaims:
    """Verify an access token and that its session is still live.

    raises Unauthenticated. The Redis deny-list answers in O(1); when Redis cannot answer
    the database is asked instead, so a revoked session never passes (fail closed).
    """
    now = svc.clock()
    claims = svc.access_tokens.decode(access_token, now=now)
    revoked = await svc.denylist.contains(claims.session_id)
    if revoked is None:
        revoked = not await sessions.is_active(claims.session_id, now)
    if revoked:
        raise Unauthenticated("The session has ended.")
    return claims


def _pair(svc: Services, user: UserRecord, session_id: uuid.UUID, refresh_token: str) -> TokenPair:
    now = svc.clock()
    access = svc.access_tokens.issue(user_id=user.id, session_id=session_id, now=now)
    return TokenPair(access_token=access, refresh_token=refresh_token,
                     expires_in=svc.access_tokens.ttl, session_id=session_id, user=user,
                     refresh_expires_in=svc.settings.refresh_token_ttl)
