"""Password sign-in, with the per-account lockout (OWASP ASVS 2.2.1)."""

from __future__ import annotations

import contextlib

from db.repositories import users
from domain.accounts.emails import normalize_email
from domain.errors import EmailNotVerified, InvalidCredentials, Overloaded, ValidationFailed
from domain.names import AuditAction, AuthMethod
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair
from domain.two_factor.challenge import TwoFactorRequired, sign_in_or_challenge


async def sign_in(svc: Services, *, email: str, password: str, device_name: str | None,
                  info: RequestInfo) -> TokenPair | TwoFactorRequired:
    """Password sign-in; opens a web session with ``amr: ["pwd"]``, or returns
    TwoFactorRequired when the account has two-factor on (no session yet).

    raises InvalidCredentials for an unknown email, a wrong password, a deactivated or erased
    account and a locked account alike (same body; one bcrypt check for all but the last;
    a deactivated account is checked like an unknown one, so its password is never tested
    and every try counts toward the lockout), then EmailNotVerified only after a correct
    password (OWASP ASVS 2.2.1, 3.2.x). After ``lockout_threshold`` failures in
    ``lockout_window`` s the account refuses passwords for ``lockout_duration`` s.
    raises Overloaded (503) when the hashing queue refuses: no attempt counted, nothing written.
    """
    try:
        email = normalize_email(email)
    except ValidationFailed:
        email = ""
    # The hashing queue comes first: a sign-in refused with Overloaded (503) has reserved no
    # lockout attempt and written nothing, so overload can never lock an account (issue 16).
    user = await users.get_by_email(email) if email else None  # not while holding a slot
    # a deactivated account is verified against the dummy hash, like an unknown address
    usable = user is not None and user.is_active
    async with svc.hasher.turn() as hashing:
        attempt, lockout_ended = await svc.lockout.begin(email or "-")
        # locked: no password check at all, so guesses learn nothing
        ok = attempt is not None and await hashing.verify(
            password, user.password_hash if user and usable else None)
    if user is not None and lockout_ended:
        async with svc.unit_of_work(info) as uow:
            uow.audit(AuditAction.LOCKOUT_ENDED, user.id, reason="expired")
    if attempt is None:
        if user is not None:
            async with svc.unit_of_work(info) as uow:
                uow.audit(AuditAction.SIGNIN_FAILED, user.id, reason="locked")
        raise InvalidCredentials()
    if not ok or user is None:
        locked = await svc.lockout.failed(email or "-", attempt)
        if user is not None:
            async with svc.unit_of_work(info) as uow:
                uow.audit(AuditAction.SIGNIN_FAILED, user.id,
                          reason="bad_credentials" if usable else "deactivated")
                if locked:
                    uow.audit(AuditAction.LOCKOUT_STARTED, user.id,
                              seconds=svc.settings.lockout_duration)
        raise InvalidCredentials()
    if user.two_factor_methods:
        # The failures are forgiven only once the challenge is answered (verify_challenge): a
        # known password must not reset the count wrong second factors add to, nor count as a
        # failure itself (abandoned challenges would lock the owner out) (OWASP ASVS 2.2.1).
        await svc.lockout.release(email)
    else:
        await svc.lockout.succeeded(email)
    if user.email_verified_at is None:
        raise EmailNotVerified()
    if svc.hasher.needs_rehash(user.password_hash):  # BCRYPT_ROUNDS rose since it was set
        with contextlib.suppress(Overloaded):  # the upgrade can wait for a quieter sign-in
            await users.set_password_hash(user.id, await svc.hasher.hash(password), svc.clock())
    return await sign_in_or_challenge(svc, user, first_factor=AuthMethod.PASSWORD, info=info,
                                      device_name=device_name)
