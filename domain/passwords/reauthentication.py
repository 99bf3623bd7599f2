"""Re-authentication: the one check of the current password before a sensitive change
(password change now; enabling TOTP, disabling 2FA, new backup codes and account deletion
when they land). OWASP ASVS 3.7.1 asks for it; ASVS 2.2.1 asks that it cannot be used as a
password oracle, so every check counts toward the account lockout that sign-in uses (same
key, same threshold, same audit events) and toward a per-session limit.
"""

from __future__ import annotations

from db.repositories import users
from domain.errors import RateLimited, Unauthenticated, ValidationFailed
from domain.names import AuditAction, RateLimit
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims


async def reauthenticate(svc: Services, claims: AccessClaims, password: str, *,
                         info: RequestInfo, field: str = "password",
                         user: UserRecord | None = None,
                         then_hash: str | None = None) -> tuple[UserRecord, str | None]:
    """(the signed-in user, bcrypt hash of ``then_hash`` or None), once ``password`` proved
    to be their current one. ``user``: the caller's copy of the account, if it read it;
    ``then_hash``: a new password to hash in the same turn of the hashing queue, so a change
    with the right password cannot be refused (503) after the check.

    raises RateLimited (429 + Retry-After: ``RATE_LIMIT_REAUTH_PER_SESSION`` checks used up,
    or the account is locked, in which case even the right password is refused),
    ValidationFailed (400 naming ``field``: wrong password), Overloaded (503: the hashing queue
    is full; nothing was counted), Unauthenticated (the account is gone).
    """
    user = user or await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    new_hash = None
    # Counting starts only once the turn has come: a refusal (503) has counted nothing.
    async with svc.hasher.turn() as hashing:
        await svc.limit(RateLimit.REAUTH_PER_SESSION, str(claims.session_id))
        attempt, _ = await svc.lockout.begin(user.email)
        ok = attempt is not None and await hashing.verify(password, user.password_hash)
        if ok and then_hash is not None:
            new_hash = await hashing.hash(then_hash)
    if attempt is None:
        raise RateLimited(svc.settings.lockout_duration,
                          limit=f"password checks per account, {svc.settings.lockout_threshold}"
                                f" failures in {svc.settings.lockout_window} s",
                          setting="LOCKOUT_THRESHOLD")
    if not ok:
        locked = await svc.lockout.failed(user.email, attempt)
        async with svc.unit_of_work(info) as uow:
            uow.audit(AuditAction.REAUTH_FAILED, user.id, session_id=str(claims.session_id))
            if locked:
                uow.audit(AuditAction.LOCKOUT_STARTED, user.id,
                          seconds=svc.settings.lockout_duration)
        raise ValidationFailed([(field, "is not your current password")])
    await svc.lockout.succeeded(user.email)
    return user, new_hash
