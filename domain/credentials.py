"""Password reset (forgot -> emailed link -> new password) and password change."""

from __future__ import annotations

from db.repositories import audit, one_time_tokens, outbox, users
from db.transaction import transaction
from domain.accounts import normalize_email
from domain.alerts import Alert, queue_alert
from domain.errors import InvalidOneTimeToken, OneTimeTokenExpired, ValidationFailed
from domain.messages import MessageKind
from domain.passwords import check_new_password
from domain.services import RequestInfo, Services
from domain.session_admin import deny, end_all
from domain.tokens import AccessClaims, hash_token


async def forgot_password(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a reset link (valid ``password_reset_ttl`` s; a newer one voids older ones) for
    an existing account; an unknown address gets nothing. The caller answers the same either
    way, and the per-address limit counts unknown addresses too (OWASP ASVS 2.5.1).
    raises ValidationFailed (malformed address), RateLimited."""
    email = normalize_email(email)
    await svc.limit("password_forgot_per_account", email.lower())
    user = await users.get_by_email(email)
    if user is None:
        return
    now = svc.clock()
    async with transaction():
        message_id = await outbox.add(
            kind=MessageKind.RESET_PASSWORD, recipient=user.email, user_id=user.id, now=now,
            data={"name": user.name, "ip_address": info.ip_address,
                  "user_agent": info.user_agent})
        await audit.record("auth.password.reset_requested", user_id=user.id, now=now,
                           ip_address=info.ip_address, user_agent=info.user_agent)
    await svc.dispatch([message_id])


async def reset_password(svc: Services, *, token: str, new_password: str,
                         info: RequestInfo) -> None:
    """Set a new password with a reset token: the token is used up, every session ends at
    once, the lockout is cleared, the address counts as verified, an alert is queued.
    No automatic sign-in. raises InvalidOneTimeToken, OneTimeTokenExpired, ValidationFailed
    (nothing is changed then)."""
    now = svc.clock()
    token_hash = hash_token(token)
    record = await one_time_tokens.find(token_hash)
    if record is None or record.purpose != "reset_password" or record.used_at is not None:
        raise InvalidOneTimeToken()
    if record.expires_at <= now:
        raise OneTimeTokenExpired()
    user = await users.get_by_id(record.user_id)
    if user is None:
        raise InvalidOneTimeToken()
    check_new_password(svc.settings, new_password, user.email, "newPassword")
    password_hash = await svc.hasher.hash(new_password)
    async with transaction():
        locked = await one_time_tokens.find_for_update(token_hash)
        if locked is None or not await one_time_tokens.mark_used(locked.id, now):
            raise InvalidOneTimeToken()  # a parallel reset used it first
        await users.set_password_hash(user.id, password_hash, now)
        await users.mark_email_verified(user.id, now)  # the link proved the address
        ended = await end_all(user.id, now=now, reason="password_reset", info=info)
        await audit.record("auth.password.reset_completed", user_id=user.id, now=now,
                           ip_address=info.ip_address, user_agent=info.user_agent)
        alert = await queue_alert(Alert.PASSWORD_RESET, user=user, now=now, info=info)
    await deny(svc, ended)
    if await svc.lockout.clear(user.email):
        async with transaction():
            await audit.record("auth.lockout.ended", user_id=user.id, now=now,
                               ip_address=info.ip_address, user_agent=info.user_agent,
                               metadata={"reason": "password_reset"})
    await svc.dispatch([alert])


async def change_password(svc: Services, claims: AccessClaims, *, current_password: str,
                          new_password: str, info: RequestInfo) -> None:
    """Change the signed-in user's password; every other session ends, an alert is queued.
    raises ValidationFailed (wrong current password, weak new one)."""
    user = await users.get_by_id(claims.user_id)
    if user is None or not await svc.hasher.verify(current_password, user.password_hash):
        raise ValidationFailed([("currentPassword", "is not your current password")])
    check_new_password(svc.settings, new_password, user.email, "newPassword")
    password_hash = await svc.hasher.hash(new_password)
    now = svc.clock()
    async with transaction():
        await users.set_password_hash(user.id, password_hash, now)
        ended = await end_all(user.id, now=now, reason="password_changed", info=info,
                              keep=claims.session_id)
        await audit.record("auth.password.changed", user_id=user.id, now=now,
                           ip_address=info.ip_address, user_agent=info.user_agent)
        alert = await queue_alert(Alert.PASSWORD_CHANGED, user=user, now=now, info=info)
    await deny(svc, ended)
    await svc.dispatch([alert])
