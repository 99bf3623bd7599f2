"""Account use cases: register, verify email, resend verification, read the profile."""

from __future__ import annotations

import re
import uuid

from db.repositories import audit, one_time_tokens, outbox, users
from db.repositories.users import UserRecord
from db.transaction import transaction
from domain.errors import (
    EmailTaken,
    InvalidOneTimeToken,
    NotFound,
    OneTimeTokenExpired,
    ValidationFailed,
)
from domain.messages import MessageKind
from domain.passwords import check_new_password
from domain.services import RequestInfo, Services
from domain.tokens import hash_token

# Deliberately simple (WHATWG "valid e-mail address" shape); the verification email is the
# real proof. RFC 5321 §4.5.3.1: 64-octet local part, 254 in all.
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalize_email(raw: str) -> str:
    """Trim and lower-case the domain; raise ValidationFailed if it is not an address."""
    email = raw.strip()
    local, _, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}"
    if len(email) > 254 or len(local) > 64 or not EMAIL_RE.match(email):
        raise ValidationFailed([("email", "must be a valid email address")])
    return email


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
    now = svc.clock()
    try:
        async with transaction():
            user_id = await users.insert(email=email, password_hash=password_hash, name=name,
                                         now=now)
            message_id = await outbox.add(kind=MessageKind.VERIFY_EMAIL, recipient=email,
                                          user_id=user_id, now=now, data={"name": name})
            await audit.record("auth.register", user_id=user_id, now=now,
                               ip_address=info.ip_address, user_agent=info.user_agent)
    except Exception as exc:  # unique violation on a lost race (sqlite3 / asyncpg types differ)
        if "unique" in str(exc).lower():
            raise EmailTaken() from exc
        raise
    await svc.dispatch([message_id])
    return await _require_user(user_id)


async def verify_email(svc: Services, *, token: str, info: RequestInfo) -> None:
    """Consume a verify_email token, mark the address verified, queue the welcome email.

    raises InvalidOneTimeToken (unknown, used, other purpose) or OneTimeTokenExpired.
    """
    now = svc.clock()
    message_id = None
    async with transaction():
        record = await one_time_tokens.find_for_update(hash_token(token))
        if record is None or record.purpose != "verify_email" or record.used_at is not None:
            raise InvalidOneTimeToken()
        if record.expires_at <= now:
            raise OneTimeTokenExpired()
        if not await one_time_tokens.mark_used(record.id, now):
            raise InvalidOneTimeToken()
        if await users.mark_email_verified(record.user_id, now):
            user = await _require_user(record.user_id)
            message_id = await outbox.add(kind=MessageKind.WELCOME, recipient=user.email,
                                          user_id=user.id, now=now, data={"name": user.name})
            await audit.record("auth.email.verified", user_id=user.id, now=now,
                               ip_address=info.ip_address, user_agent=info.user_agent)
    if message_id:
        await svc.dispatch([message_id])


async def resend_verification(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a fresh verification link for an unverified account; silently nothing for an
    unknown or already verified address (no account enumeration, OWASP ASVS 2.5.1)."""
    email = normalize_email(email)  # a malformed address reveals nothing: 400 is fine
    await svc.limit("verify_email_resend_per_account", email.lower())  # known or not alike
    now = svc.clock()
    async with transaction():
        user = await users.get_by_email(email)
        if user is None or user.email_verified_at is not None:
            return
        message_id = await outbox.add(kind=MessageKind.VERIFY_EMAIL, recipient=user.email,
                                      user_id=user.id, now=now, data={"name": user.name})
    await svc.dispatch([message_id])


async def _require_user(user_id: uuid.UUID) -> UserRecord:
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound()
    return user


get_profile = _require_user
