"""Password reset (forgot -> emailed link -> new password) and password change."""

from __future__ import annotations

from db.repositories import erasure, users
from domain import one_time_secrets
from domain.accounts.emails import normalize_email
from domain.errors import InvalidOneTimeToken, Unauthenticated
from domain.messages import kinds
from domain.names import AuditAction, RateLimit, RevokeReason
from domain.one_time_secrets import purposes
from domain.passwords.policy import check_new_password
from domain.passwords.reauthentication import reauthenticate
from domain.services import RequestInfo, Services
from domain.sessions.management import end_all
from domain.tokens import AccessClaims


async def forgot_password(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a reset link (valid ``password_reset_ttl`` s; a newer one voids older ones) for
    an existing account; an unknown address gets nothing. The caller answers the same either
    way, and the per-address limit counts unknown addresses too (OWASP ASVS 2.5.1).
    raises ValidationFailed (malformed address), RateLimited."""
    email = normalize_email(email)
    await svc.limit(RateLimit.PASSWORD_FORGOT_PER_ACCOUNT, email.lower())
    user = await users.get_by_email(email)
    if user is None or not user.is_active:  # a deactivated account could not sign in anyway
        return
    async with svc.unit_of_work(info) as uow:
        # where the request came from is recorded with the token the worker mints
        uow.send(kinds.RESET_PASSWORD, user=user, data={
            "ip_address": info.ip_address, "user_agent": info.user_agent})
        uow.audit(AuditAction.PASSWORD_RESET_REQUESTED, user.id)


async def reset_password(svc: Services, *, token: str, new_password: str,
                         info: RequestInfo) -> None:
    """Set a new password with a reset token: the token is used up, every session ends at
    once and every pending sign-in is void (other links, pairing tokens, two-factor
    challenges), the lockout is cleared, the address counts as verified, an alert is queued.
    No automatic sign-in. raises InvalidOneTimeToken, OneTimeTokenExpired, ValidationFailed
    (nothing is changed then)."""
    # Checked first without a lock, so no transaction is held while bcrypt runs.
    record = await one_time_secrets.check_link(purposes.RESET_PASSWORD, token, now=svc.clock())
    user = await users.get_by_id(record.user_id)
    if user is None or not user.is_active:
        raise InvalidOneTimeToken()
    check_new_password(svc.settings, new_password, user.email, "newPassword")
    password_hash = await svc.hasher.hash(new_password)
    async with svc.unit_of_work(info) as uow:
        await one_time_secrets.consume_link(purposes.RESET_PASSWORD, token, now=uow.now)
        await users.set_password_hash(user.id, password_hash, uow.now)
        await users.mark_email_verified(user.id, uow.now)  # the link proved the address
        await end_all(uow, user.id, reason=RevokeReason.PASSWORD_RESET)
        # and whatever could still open one: links, pairing tokens, unanswered challenges
        await erasure.delete_pending_sign_ins(user.id)
        uow.audit(AuditAction.PASSWORD_RESET_COMPLETED, user.id)
        uow.alert(kinds.PASSWORD_RESET_ALERT, user=user)
    if await svc.lockout.clear(user.email):
        async with svc.unit_of_work(info) as uow:
            uow.audit(AuditAction.LOCKOUT_ENDED, user.id, reason="password_reset")


async def change_password(svc: Services, claims: AccessClaims, *, current_password: str,
                          new_password: str, info: RequestInfo) -> None:
    """Change the signed-in user's password; every other session ends and every pending
    sign-in (links, pairing tokens, two-factor challenges) is void; an alert is queued.
    raises ValidationFailed (wrong current password, weak new one), RateLimited (too many
    checks of the current password: see reauthenticate), Overloaded."""
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    # The new password's rules first: a weak one costs no current-password check.
    check_new_password(svc.settings, new_password, user.email, "newPassword")
    user, password_hash = await reauthenticate(svc, claims, current_password, info=info,
                                               field="currentPassword", user=user,
                                               then_hash=new_password)
    if password_hash is None:  # cannot happen: a right password is hashed in the same turn
        raise RuntimeError("reauthenticate returned no hash")
    async with svc.unit_of_work(info) as uow:
        await users.set_password_hash(user.id, password_hash, uow.now)
        await end_all(uow, user.id, reason=RevokeReason.PASSWORD_CHANGED,
                      keep=claims.session_id)
        await erasure.delete_pending_sign_ins(user.id)  # links, pairing tokens, challenges
        uow.audit(AuditAction.PASSWORD_CHANGED, user.id)
        uow.alert(kinds.PASSWORD_CHANGED_ALERT, user=user)
