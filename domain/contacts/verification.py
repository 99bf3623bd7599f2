"""Contact verification: a 6-digit code to an email address or phone number proves it, and a
new value becomes the account's contact once proven (API.md /v1/notifications/verification).

Push has no code: it counts as verified while the account has at least one registered push
device (``verify_push``, as the OnCall seed does). A person can be on call
(``ContactStatus.can_be_on_call``) when email, phone and push are all verified.

The request only queues the message; the worker mints the code when it sends it and keeps,
with the code's keyed HMAC, the address or number it went to (``otp_codes.target``). Using the
code proves that target, so the verified value is always the one the code travelled to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from db.repositories import contacts
from domain import one_time_secrets
from domain.accounts import get_profile, normalize_email
from domain.contacts_format import mask_email, mask_phone, normalize_phone
from domain.errors import (
    EmailTaken,
    InvalidCode,
    InvalidOneTimeToken,
    NoPushDevice,
    OneTimeTokenExpired,
    RateLimited,
    ValidationFailed,
)
from domain.messages import kinds
from domain.messages.alerts import alert_data
from domain.messages.kinds import MessageKind
from domain.messages.sms_policy import check_sms_allowed
from domain.names import AuditAction, RateLimit
from domain.one_time_secrets import Purpose, purposes
from domain.passwords.reauthentication import reauthenticate
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims


class Method(StrEnum):
    """What a code is sent by (push: no code, see ``verify_push``)."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


KIND: dict[Method, MessageKind] = {Method.EMAIL: kinds.CONTACT_CODE_EMAIL,
                                   Method.SMS: kinds.CONTACT_CODE_SMS}
PURPOSE: dict[Method, Purpose] = {Method.EMAIL: purposes.CONTACT_EMAIL,
                                  Method.SMS: purposes.CONTACT_SMS}


@dataclass(frozen=True, slots=True)
class CodeSent:
    """id: the outbox message carrying the code; expires_at: when a code minted now would
    expire (the worker mints it moments later, when it sends)."""

    id: uuid.UUID
    method: Method
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """Masked contact values and what is verified; push counts as verified with >= 1 device."""

    email: str
    email_verified: bool
    phone: str | None
    phone_verified: bool
    push_devices: int

    @property
    def all_verified(self) -> bool:
        return self.email_verified and self.phone_verified and self.push_devices > 0

    @property
    def can_be_on_call(self) -> bool:
        """May be paged (OnCall seed): email, phone and push all verified, so a page can
        reach the person on every channel an on-call product uses."""
        return self.all_verified


def mask(method: Method, value: str) -> str:
    """The value as responses and audit events show it (``ab***@example.com``,
    ``+1******2671``)."""
    return mask_email(value) if method is Method.EMAIL else mask_phone(value)


def _normalized(method: Method, value: str) -> str:
    if method is Method.SMS:
        return normalize_phone(value, field="value")
    try:
        return normalize_email(value)
    except ValidationFailed:
        raise ValidationFailed([("value", "must be a valid email address")]) from None


async def send_code(svc: Services, claims: AccessClaims, *, method: Method, value: str | None,
                    info: RequestInfo, password: str | None = None) -> CodeSent:
    """Queue a verification code (6 digits, ``contact_code_ttl`` s, 5 attempts; a new code
    voids the older) to ``value``, normalised, or without it to the account's current
    address / number. Another account's address is not refused here but when the code is
    used: answering here would tell anyone which addresses have accounts (OWASP ASVS 2.5.1).

    A new email address also needs the current ``password`` (re-authentication): the address
    is how the account is recovered, so a stolen access token alone must not move it (OWASP
    ASVS 2.5.x, 3.7.1).

    raises ValidationFailed (``value`` malformed, no phone number on the account, SMS to a
    country not allowed, ``password`` missing or wrong for a new email), RateLimited (one code
    per minute per method, RATE_LIMIT_CONTACT_CODE_PER_ACCOUNT; CONTACT_CODE_DAILY_CAP per
    account; the SMS pumping limits; re-authentication limits), Overloaded, NotFound;
    ValueError for Method.PUSH (no code: ``verify_push``).
    """
    if method is Method.PUSH:
        raise ValueError("push has no code: use verify_push")
    user = await get_profile(claims.user_id)
    if value is not None:
        target = _normalized(method, value)
    elif method is Method.EMAIL:
        target = user.email
    elif user.phone_number:
        target = user.phone_number
    else:
        raise ValidationFailed([("value", "the account has no phone number: send one")])
    if method is Method.EMAIL and target.lower() != user.email.lower():
        if password is None:
            raise ValidationFailed([("password", "is required to change the email address")])
        await reauthenticate(svc, claims, password, info=info, user=user)
    await svc.limit(RateLimit.CONTACT_CODE_PER_ACCOUNT, str(user.id), method.value)
    cap = f"{svc.settings.contact_code_daily_cap}/day"  # 5 guesses a code, bounded per day
    retry_after = await svc.rate_limiter.hit(cap, "contact_code_daily", str(user.id))
    if retry_after is not None:
        raise RateLimited(retry_after, limit=f"contact codes per account per day, {cap}",
                          setting="CONTACT_CODE_DAILY_CAP")
    if method is Method.SMS:
        await check_sms_allowed(svc, user_id=user.id, phone=target, info=info, field="value")
    async with svc.unit_of_work(info) as uow:
        message_id = uow.send(KIND[method], user=user, recipient=target)
        uow.audit(AuditAction.CONTACT_CODE_SENT, user.id, method=method.value,
                  value=mask(method, target))
    ttl = PURPOSE[method].ttl(svc.settings)
    return CodeSent(message_id, method, uow.now + timedelta(seconds=ttl))


async def verify_push(user_id: uuid.UUID) -> int:
    """Push is verified by a registered device, without a code: the number of the account's
    devices (>= 1). Nothing is written. raises NoPushDevice (409) without one, NotFound."""
    user = await get_profile(user_id)
    if user.push_device_count < 1:
        raise NoPushDevice()
    return user.push_device_count


async def verify_code(svc: Services, user_id: uuid.UUID, *, method: Method, code: str,
                      info: RequestInfo) -> None:
    """Use the code and mark the value it was sent to verified, making it the account's email
    (email_lower in step) or phone number.

    raises InvalidCode (wrong, expired, none sent), TooManyAttempts (429: 5 wrong guesses
    void the code), EmailTaken (409: another account has that address by now), NotFound.
    """
    try:  # outside any transaction: a counted wrong guess must stick (ASVS 2.8.x)
        record = await one_time_secrets.consume_code(
            PURPOSE[method], user_id=user_id, code=code, settings=svc.settings, now=svc.clock())
    except OneTimeTokenExpired:
        raise InvalidCode("The code has expired. Ask for a new one.") from None
    except InvalidOneTimeToken:
        raise InvalidCode() from None
    try:
        async with svc.unit_of_work(info) as uow:
            user = await get_profile(user_id)
            current = user.email if method is Method.EMAIL else user.phone_number
            target = record.target or current
            if target is None:  # a code without a target to a user without a number
                raise InvalidCode()
            if method is Method.EMAIL:
                if target.lower() != user.email.lower() and await contacts.email_taken_by_other(
                        target, user.id):
                    raise EmailTaken()
                await contacts.set_verified_email(user.id, target, uow.now)
                if target.lower() != user.email.lower():
                    uow.send(kinds.EMAIL_CHANGED_NOTICE, user=user, recipient=user.email,
                             data={**alert_data(now=uow.now, device=info),
                                   "new_email": mask_email(target)})
            else:
                await contacts.set_verified_phone(user.id, target, uow.now)
            uow.audit(AuditAction.CONTACT_VERIFIED, user.id, method=method.value,
                      value=mask(method, target), changed=target != current)
    except Exception as exc:  # the unique index on email_lower lost a race (driver types differ)
        if "unique" in str(exc).lower():
            raise EmailTaken() from exc
        raise


async def contact_status(user_id: uuid.UUID) -> ContactStatus:
    """The account's contacts, masked, and what is verified. raises NotFound."""
    user = await get_profile(user_id)
    phone = user.phone_number
    return ContactStatus(email=mask_email(user.email),
                         email_verified=user.email_verified_at is not None,
                         phone=mask_phone(phone) if phone else None,
                         phone_verified=bool(phone) and user.phone_verified_at is not None,
                         push_devices=user.push_device_count)
