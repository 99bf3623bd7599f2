"""Fault case 7: mixed provider errors at once. The SMTP server refuses 1 of 20 recipients
(550, permanent: RFC 5321 §4.2.1), Twilio answers 429 three times before accepting one SMS
(transient: retried with backoff) and 21610 (the recipient unsubscribed: permanent) for
another number. Each message ends sent or failed after a bounded number of attempts."""

from __future__ import annotations

import httpx

from scripts.twilio_stub import Reply
from tests.fault.conftest import SystemFactory
from tests.fault.flows import eventually, message_of, messages, register, signed_in
from tests.fault.system import WAIT, FaultySink, ScriptedTwilio
from tests.support import bearer

BOUNCE = "bounce@example.com"
THROTTLED, UNSUBSCRIBED = "+14155552671", "+14155552672"


def send_sms_code(url: str, access_token: str, phone: str) -> None:
    response = httpx.post(f"{url}/v1/notifications/verification/send",
                          json={"method": "sms", "value": phone},
                          headers=bearer(access_token), timeout=WAIT)
    assert response.status_code == 202, response.text


def verify_sms_code(url: str, access_token: str, code: str) -> None:
    response = httpx.post(f"{url}/v1/notifications/verification/verify",
                          json={"method": "sms", "code": code},
                          headers=bearer(access_token), timeout=WAIT)
    assert response.status_code == 200, response.text


async def test_smtp_550_twilio_429s_and_21610_end_each_message_once_with_bounded_attempts(
        system: SystemFactory, sink: FaultySink, sms: ScriptedTwilio) -> None:
    url = system(DELIVERY_RETRY_BASE="0.1", DELIVERY_MAX_TRIES="8").url
    sink.refuse[BOUNCE] = "550 5.1.1 <bounce@example.com>: no such mailbox"
    sms.script = {THROTTLED: [Reply(429)] * 3, UNSUBSCRIBED: [Reply(400, code=21610)]}
    recipients = [f"user{n:02d}@example.com" for n in range(19)]
    for address in [*recipients[:10], BOUNCE, *recipients[10:]]:
        register(url, address)
    for address in recipients:
        sink.wait_for(address, timeout=WAIT)
    await eventually(lambda: _status_of(BOUNCE, "failed"), "the 550 recorded as failed")

    # two of the 19 verify their address, sign in and ask for a code by SMS
    first = signed_in(url, sink, recipients[0], registered=True)
    second = signed_in(url, sink, recipients[1], registered=True)
    send_sms_code(url, first["accessToken"], THROTTLED)
    send_sms_code(url, second["accessToken"], UNSUBSCRIBED)
    code = sms.wait_for(THROTTLED, timeout=WAIT)[0].code
    assert code is not None
    await eventually(lambda: _sms_status(UNSUBSCRIBED, "failed"), "the 21610 recorded")
    await eventually(lambda: _sms_status(THROTTLED, "sent"), "the SMS marked sent")

    emails = await messages("verify_email")
    assert sorted(r["status"] for r in emails) == ["failed"] + ["sent"] * 19
    assert all(r["attempts"] == 1 for r in emails)  # neither kind of answer is retried
    bounce = await message_of(BOUNCE)
    assert "550" in bounce["last_error"]
    assert len([m for m in sink.received if m.subject == "Verify your email address"]) == 19
    assert sink.to(BOUNCE) == []
    assert sms.to(UNSUBSCRIBED) == [] and len(sms.to(THROTTLED)) == 1
    throttled = await message_of(THROTTLED, "contact_code_sms")
    unsubscribed = await message_of(UNSUBSCRIBED, "contact_code_sms")
    assert throttled["attempts"] == 4 and unsubscribed["attempts"] == 1
    assert "21610" in unsubscribed["last_error"]
    assert sms.requests_to == {THROTTLED: 4, UNSUBSCRIBED: 1}  # attempts bounded
    every = await messages()
    assert sink.rcpt_commands == sum(r["attempts"] for r in every if r["channel"] == "email")
    verify_sms_code(url, first["accessToken"], code)  # the code that came after the 429s works


async def _status_of(recipient: str, status: str) -> bool:
    return (await message_of(recipient))["status"] == status


async def _sms_status(phone: str, status: str) -> bool:
    return (await message_of(phone, "contact_code_sms"))["status"] == status
