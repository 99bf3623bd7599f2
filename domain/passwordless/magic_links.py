"""Magic links: sign in with a single-use link emailed to the account's address.

The request only records an outbox message; the worker mints the 256-bit token (stored as
SHA-256, ``magic_link_ttl`` s from when it is sent) and emails ``APP_URL/auth/magic?token=``.
Several links may be live at once (phone and laptop); each works once. Using one proves
control of the address, so it also marks the email verified (GoTrue does the same).
"""

from __future__ import annotations

import dataclasses

from db.repositories import users
from domain import one_time_secrets
from domain.accounts.emails import normalize_email
from domain.errors import InvalidOneTimeToken
from domain.messages import kinds
from domain.messages.alerts import alert_data
from domain.names import AuditAction, AuthMethod, RateLimit
from domain.one_time_secrets import purposes
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair
from domain.tokens import new_opaque_token
from domain.two_factor.challenge import TwoFactorRequired, sign_in_or_challenge


async def request_magic_link(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a magic link to an existing, active account; nothing is sent otherwise.

    The caller answers the same either way, and both paths do the same work: one rate-limit
    hit per address (known or not), one lookup, one transaction with one audit row, so
    neither the body nor the timing tells whether the account exists (OWASP ASVS 2.5.1,
    API.md conventions). The email says when, from which device and IP the link was asked
    for; the worker stores that IP and user agent with the token it mints.
    raises ValidationFailed (malformed address: reveals nothing), RateLimited
    (``RATE_LIMIT_MAGIC_LINK_PER_ACCOUNT``, the same 429 for known and unknown addresses).
    """
    email = normalize_email(email)
    await svc.limit(RateLimit.MAGIC_LINK_PER_ACCOUNT, email.lower())
    user = await users.get_by_email(email)
    async with svc.unit_of_work(info) as uow:
        if user is not None and user.is_active:
            uow.send(kinds.MAGIC_LINK, user=user, data={
                **alert_data(now=uow.now, device=info), "user_agent": info.user_agent})
            uow.audit(AuditAction.MAGIC_LINK_REQUESTED, user.id)
        else:
            # Comparable work for an unknown or deactivated account: the same transaction and
            # audit insert (no address recorded: it may not be anyone's).
            uow.audit(AuditAction.MAGIC_LINK_REQUESTED, user.id if user else None, sent=False)


async def verify_magic_link(svc: Services, *, token: str, info: RequestInfo
                            ) -> TokenPair | TwoFactorRequired:
    """Use a magic-link token: a web session with ``amr: ["email"]``, or TwoFactorRequired
    when the account has two-factor on (no session until the challenge is answered).

    The token is used up and the address marked verified (audit ``EMAIL_VERIFIED`` the first
    time; then the password chosen at registration, by whoever registered the address, is
    replaced by an unusable one: sign in with links or reset it) in one transaction; the
    session (or challenge) follows in its own, so a failure
    there leaves a used link and the person asks for another.
    raises OneTimeTokenExpired (``token_expired``), InvalidOneTimeToken (``invalid_token``:
    unknown, used, another purpose, or a deactivated account, whose token is used up too so
    it cannot work later either).
    """
    # Pre-account hijacking: whoever registered an unverified address chose its password. When
    # this link is the first proof of the address, that password is replaced by an unusable
    # one (hashed here, outside the transaction), so a squatter cannot sign in beside the owner.
    found = await one_time_secrets.check_link(purposes.MAGIC_LINK, token, now=svc.clock())
    owner = await users.get_by_id(found.user_id)
    unusable = (await svc.hasher.hash(new_opaque_token())
                if owner is not None and owner.email_verified_at is None else None)
    async with svc.unit_of_work(info) as uow:
        record = await one_time_secrets.consume_link(purposes.MAGIC_LINK, token, now=uow.now)
        user = await users.get_by_id(record.user_id)
        usable: UserRecord | None = None
        if user is not None and not user.is_active:
            uow.audit(AuditAction.SIGNIN_FAILED, user.id, reason="account_disabled",
                      method=AuthMethod.EMAIL.value)
        elif user is not None:
            usable = user
            if await users.mark_email_verified(user.id, uow.now):  # the link proved it
                if unusable is not None:
                    await users.set_password_hash(user.id, unusable, uow.now)
                uow.audit(AuditAction.EMAIL_VERIFIED, user.id, via="magic_link",
                          password_cleared=unusable is not None)
                usable = dataclasses.replace(user, email_verified_at=uow.now)
    if usable is None:  # raised after the commit: the token stays used
        raise InvalidOneTimeToken()
    return await sign_in_or_challenge(svc, usable, first_factor=AuthMethod.EMAIL, info=info)
