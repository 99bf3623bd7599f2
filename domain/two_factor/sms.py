"""SMS two-factor: enrol a phone number with a code sent to it, and send sign-in codes to the
enrolled number for a pending challenge.

Codes are minted by the worker when it sends the SMS (6 digits, keyed HMAC stored,
``SMS_CODE_TTL`` s, 5 attempts; the code row's ``target`` is the number it went to), never in
the request. Every send first passes the SMS pumping defences (``check_sms_allowed``: per
number, per IP, per account, allowed countries, daily cap), so a refused send never reaches
the outbox, let alone Twilio. SMS is a "restricted" authenticator (NIST SP 800-63B §5.1.3.3):
the challenge offers TOTP first and accepts SMS only once a number has been verified.
"""

from __future__ import annotations

from db.repositories import sms_two_factor, users
from domain import one_time_secrets
from domain.contacts_format import mask_phone, normalize_phone
from domain.errors import (
    InvalidCode,
    InvalidOneTimeToken,
    OneTimeTokenExpired,
    TwoFactorNotEnabled,
    Unauthenticated,
)
from domain.messages import kinds
from domain.messages.sms_policy import check_sms_allowed
from domain.names import AuditAction
from domain.one_time_secrets import purposes
from domain.passwords.reauthentication import reauthenticate
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.two_factor import backup_codes
from domain.two_factor.challenge import live_challenge

METHOD_LABEL = "SMS"  # how alerts name the method


async def request_enrolment(svc: Services, claims: AccessClaims, *, phone_number: str,
                            password: str, info: RequestInfo) -> str:
    """Queue an SMS with an enrolment code to ``phone_number`` once ``password`` is
    re-checked; returns the number as E.164. Nothing changes for sign-in until /sms/verify.

    raises ValidationFailed (``phoneNumber`` not a valid E.164 number or of a country SMS
    may not go to; ``password`` wrong), RateLimited (SMS limits per number, IP, account, the
    daily cap, or re-authentication limits), Overloaded, Unauthenticated.
    """
    phone = normalize_phone(phone_number)  # before the password check: bad input costs nothing
    user, _ = await reauthenticate(svc, claims, password, info=info)
    await check_sms_allowed(svc, user_id=user.id, phone=phone, info=info)
    async with svc.unit_of_work(info) as uow:
        uow.send(kinds.SMS_TWO_FACTOR_ENROL, user=user, recipient=phone)
    return phone


async def confirm_enrolment(svc: Services, claims: AccessClaims, *, code: str,
                            info: RequestInfo) -> list[str]:
    """Turn SMS two-factor on for the number the enrolment code went to (or move it there).
    Records an audit event TWO_FACTOR_ENABLED (method=sms) and queues a security alert.
    Returns 10 new backup codes (``xxxxx-xxxxx``, shown once) when the user had no unused
    ones, else [] (their codes stay valid).

    raises InvalidCode (wrong, expired or no code), TooManyAttempts (5 wrong guesses: the
    code is void, ask for a new one), Unauthenticated.
    """
    try:
        record = await one_time_secrets.consume_code(
            purposes.SMS_TWO_FACTOR_ENROL, user_id=claims.user_id, code=code,
            settings=svc.settings, now=svc.clock())
    except OneTimeTokenExpired as exc:
        raise InvalidCode("The code has expired. Ask for a new one.") from exc
    except InvalidOneTimeToken as exc:
        raise InvalidCode() from exc
    if record.target is None:  # every enrolment code is minted with its number
        raise InvalidCode()
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_id(claims.user_id)
        if user is None:
            raise Unauthenticated()
        await sms_two_factor.set_phone(user.id, record.target, uow.now)
        codes: list[str] = []
        if user.backup_codes_remaining == 0:
            codes = await backup_codes.issue(uow, user.id, svc.settings)
        uow.audit(AuditAction.TWO_FACTOR_ENABLED, user.id, method="sms",
                  phone=mask_phone(record.target))
        uow.alert(kinds.TWO_FACTOR_ENABLED_ALERT, user=user, data={"method": METHOD_LABEL})
    return codes


async def send_challenge_code(svc: Services, *, token: str, info: RequestInfo) -> str:
    """Queue an SMS with a sign-in code to the enrolled number of the challenge's account
    (a newer code voids the older); returns the number masked (``+1******2671``).

    raises InvalidOneTimeToken / OneTimeTokenExpired / TooManyAttempts (the challenge token:
    see ``live_challenge``), TwoFactorNotEnabled (409: the account has no SMS two-factor),
    RateLimited (the SMS limits), ValidationFailed (the number's country is no longer
    allowed).
    """
    _, user = await live_challenge(svc, token)
    phone = user.sms_two_factor_phone
    if phone is None:
        raise TwoFactorNotEnabled("SMS two-factor is not turned on for this account.")
    await check_sms_allowed(svc, user_id=user.id, phone=phone, info=info)
    async with svc.unit_of_work(info) as uow:
        uow.send(kinds.SMS_TWO_FACTOR_CODE, user=user, recipient=phone)
    return mask_phone(phone)
