"""Defences against SMS pumping (toll fraud) before any SMS is queued: OWASP's SMS pumping
guidance and Twilio's own (limits per number, per IP and per account, allowed countries, a
daily cap per account). A refused send never reaches the outbox, so never reaches Twilio."""

from __future__ import annotations

import uuid

from domain.contacts_format import calling_code
from domain.errors import RateLimited, ValidationFailed
from domain.names import RateLimit
from domain.services import RequestInfo, Services


async def check_sms_allowed(svc: Services, *, user_id: uuid.UUID, phone: str,
                            info: RequestInfo, field: str = "phoneNumber") -> None:
    """Call before queueing an SMS to ``phone`` (E.164) for ``user_id``.

    raises ValidationFailed (``field``: the number's country is not in
    SMS_ALLOWED_COUNTRY_CODES), RateLimited (RATE_LIMIT_SMS per IP, RATE_LIMIT_SMS_PER_ACCOUNT,
    RATE_LIMIT_SMS_PER_NUMBER, or SMS_DAILY_CAP_PER_ACCOUNT per day).
    """
    allowed = svc.settings.sms_country_codes
    if allowed and calling_code(phone) not in allowed:
        raise ValidationFailed([(field, "SMS cannot be sent to numbers of this country")])
    await svc.limit(RateLimit.SMS_PER_NUMBER, phone)
    await svc.limit(RateLimit.SMS, info.ip_address or "-")
    await svc.limit(RateLimit.SMS_PER_ACCOUNT, str(user_id))
    cap = f"{svc.settings.sms_daily_cap_per_account}/day"
    retry_after = await svc.rate_limiter.hit(cap, "sms_daily_cap", str(user_id))
    if retry_after is not None:
        raise RateLimited(retry_after, limit=f"SMS per account per day, {cap}",
                          setting="SMS_DAILY_CAP_PER_ACCOUNT")
