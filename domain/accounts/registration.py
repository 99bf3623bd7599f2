"""Account use cases: register, verify email, resend verification, read the profile."""

from __future__ import annotations

import uuid

from db.repositories import users
from domain import one_time_secrets
from domain.accounts.emails import normalize_email
from domain.errors import EmailTaken, NotFound
from domain.messages import kinds
from domain.names import AuditAction, RateLimit
from domain.one_time_secrets import purposes
from domain.passwords.policy import check_new_password
from domain.records import UserRecord
from domain.services import RequestInfo, Services


async def register(svc: Services, *, email: str, password: str, name: str | None,
                   info: RequestInfo) -> UserRecord:
    """Create an unverified account and queue its verification email.

    raises ValidationFailed (bad email/password), EmailTaken (409; case-insensitive).
    """
    email = normalize_email(email)
    check_new_password(svc.settings, password, email)
    if await users.email_exists(email):  # cheap early answer; the unique index decides races
        raise EmailTaken()
    password_hash = await svc.hasher.hash(password)
    try:
        async with svc.unit_of_work(info) as uow:
            user = await users.insert(email=email, password_hash=password_hash, name=name,
                                      now=uow.now)
            uow.send(kinds.VERIFY_EMAIL, user=user)
            uow.audit(AuditAction.REGISTERED, user.id)
    except Exception as exc:  # unique violation on a lost race (sqlite3 / asyncpg types differ)
        if "unique" in str(exc).lower():
            raise EmailTaken() from exc
        raise
    return user


async def verify_email(svc: Services, *, token: str, info: RequestInfo) -> None:
    """Consume a verify_email token, mark the address verified, queue the welcome email.

    raises InvalidOneTimeToken (unknown, used, other purpose) or OneTimeTokenExpired.
    """
    async with svc.unit_of_work(info) as uow:
        record = await one_time_secrets.consume_link(purposes.VERIFY_EMAIL, token, now=uow.now)
        if await users.mark_email_verified(record.user_id, uow.now):
            user = await get_profile(record.user_id)
            uow.send(kinds.WELCOME, user=user)
            uow.audit(AuditAction.EMAIL_VERIFIED, user.id)


async def resend_verification(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a fresh verification link for an unverified account; silently nothing for an
    unknown or already verified address (no account enumeration, OWASP ASVS 2.5.1)."""
    email = normalize_email(email)  # a malformed address reveals nothing: 400 is fine
    # counted for known and unknown addresses alike
    await svc.limit(RateLimit.VERIFY_EMAIL_RESEND_PER_ACCOUNT, email.lower())
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_email(email)
        if user is not None and user.email_verified_at is None:
            uow.send(kinds.VERIFY_EMAIL, user=user)


async def get_profile(user_id: uuid.UUID) -> UserRecord:
    """The user's record. raises NotFound."""
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound()
    return user
