"""Contact verification: codes by email (SMTP sink) and by SMS (the twilio SDK against the
local Twilio stub), sent by the worker; limits, supersede, attempts, masking, new values."""

from __future__ import annotations

import asyncio

import pytest

from db.tables import AuditEvent, OtpCode, User
from tests.support import PASSWORD, bearer, serving, sign_in, verified_user, wait_mail

CODE_SUBJECT = "Your verification code"
PHONE = "+14155552671"


async def signed_in(client, mailbox, email: str) -> dict[str, str]:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


async def send(client, auth, method: str, value: str | None = None,
               password: str | None = PASSWORD):
    body = {"method": method} | ({"value": value} if value is not None else {})
    if method == "email" and value is not None and password is not None:
        body["password"] = password  # a new address needs the current password
    return await client.post("/v1/notifications/verification/send", json=body, headers=auth)


async def verify(client, auth, method: str, code: str):
    return await client.post("/v1/notifications/verification/verify",
                             json={"method": method, "code": code}, headers=auth)


async def mailed_code(mailbox, address: str, nth: int = 1) -> str:
    mail = (await wait_mail(mailbox, address, count=nth, subject=CODE_SUBJECT))[nth - 1]
    assert "It expires in 15 minutes." in mail.text
    return next(word.rstrip(".") for word in mail.text.split() if word.rstrip(".").isdigit()
                and len(word.rstrip(".")) == 6)


async def texted_code(twilio, number: str, nth: int = 1) -> str:
    sms = (await asyncio.to_thread(twilio.wait_for, number, nth))[nth - 1]
    assert sms.body.startswith("Your latchkey verification code is ") and sms.code
    return sms.code


def other(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


@pytest.fixture
async def loose(settings, clock):
    """The system with a contact-code limit out of reach (tests of supersede and attempts)."""
    async with serving(settings.replace(rate_limit_contact_code_per_account="100/minute"),
                       clock) as test_client:
        yield test_client


async def test_a_new_email_needs_the_current_password(client, mailbox):
    """A stolen access token alone must not move the account's email (the recovery address)."""
    auth = await signed_in(client, mailbox, "pat@example.com")
    missing = await send(client, auth, "email", "thief@example.com", password=None)
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "password"
    wrong = await send(client, auth, "email", "thief@example.com", password="not the password!")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "password"
    assert await OtpCode.count() == 0 and mailbox.to("thief@example.com") == []
    same = await send(client, auth, "email", "PAT@example.com", password=None)  # not a change
    assert same.status_code == 202


async def test_a_new_email_is_proven_by_the_code_sent_there_and_becomes_the_account_email(
        client, mailbox, clock):
    auth = await signed_in(client, mailbox, "ann@example.com")
    response = await send(client, auth, "email", "  Ann.New@Example.COM ")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["method"] == "email" and body["id"]
    assert body["expiresAt"].startswith(clock().strftime("%Y-%m-%dT"))
    code = await mailed_code(mailbox, "Ann.New@example.com")  # the domain lower-cased
    assert mailbox.to("ann@example.com", CODE_SUBJECT) == []  # not to the old address
    stored = await OtpCode.select(OtpCode.code_hmac, OtpCode.target).first()
    assert stored["target"] == "Ann.New@example.com" and code not in stored["code_hmac"]

    response = await verify(client, auth, "email", code)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "method": "email"}
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["email"] == "Ann.New@example.com" and profile["emailVerified"]
    assert (await sign_in(client, "ann.new@example.com")).status_code == 200
    assert (await sign_in(client, "ann@example.com")).status_code == 401
    row = await User.select(User.email_lower).first()
    assert row["email_lower"] == "ann.new@example.com"
    assert (await verify(client, auth, "email", code)).json()["type"] == "invalid_code"
    # the previous address is told, so a stolen session cannot move the account silently
    notice = (await wait_mail(mailbox, "ann@example.com",
                              subject="The email address of your account was changed"))[-1]
    assert "An***@example.com" in notice.text and code not in notice.text


async def test_the_current_email_is_used_without_a_value(client, mailbox):
    auth = await signed_in(client, mailbox, "cur@example.com")
    assert (await send(client, auth, "email")).status_code == 202
    code = await mailed_code(mailbox, "cur@example.com")
    assert (await verify(client, auth, "email", code)).status_code == 200
    status = (await client.get("/v1/notifications/verification/status", headers=auth)).json()
    assert status["email"] == {"value": "cu***@example.com", "verified": True}


async def test_an_address_another_account_has_is_refused_when_verified(client, mailbox):
    auth = await signed_in(client, mailbox, "first@example.com")
    await verified_user(client, mailbox, "second@example.com")
    assert (await send(client, auth, "email", "SECOND@example.com")).status_code == 202
    code = await mailed_code(mailbox, "SECOND@example.com")
    response = await verify(client, auth, "email", code)
    assert response.status_code == 409 and response.json()["type"] == "email_taken"
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["email"] == "first@example.com"


async def test_one_send_per_minute_per_method(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "often@example.com")
    assert (await send(client, auth, "email")).status_code == 202
    again = await send(client, auth, "email", "elsewhere@example.com")
    assert again.status_code == 429 and again.json()["type"] == "rate_limited"
    assert 1 <= int(again.headers["retry-after"]) <= 60
    assert again.json()["setting"] == "RATE_LIMIT_CONTACT_CODE_PER_ACCOUNT"
    assert (await send(client, auth, "sms", PHONE)).status_code == 202  # its own limit
    await wait_mail(mailbox, "often@example.com", subject=CODE_SUBJECT)
    await asyncio.sleep(0.2)
    assert mailbox.to("elsewhere@example.com") == []


async def test_a_new_code_voids_the_older_one(loose, mailbox):
    auth = await signed_in(loose, mailbox, "void@example.com")
    await send(loose, auth, "email")
    first = await mailed_code(mailbox, "void@example.com")
    await send(loose, auth, "email")
    second = await mailed_code(mailbox, "void@example.com", nth=2)
    if first != second:  # one chance in a million that they are equal
        assert (await verify(loose, auth, "email", first)).json()["type"] == "invalid_code"
    assert (await verify(loose, auth, "email", second)).status_code == 200


async def test_five_wrong_codes_void_the_code(loose, mailbox):
    auth = await signed_in(loose, mailbox, "guess@example.com")
    await send(loose, auth, "email")
    code = await mailed_code(mailbox, "guess@example.com")
    for _ in range(5):
        wrong = await verify(loose, auth, "email", other(code))
        assert wrong.status_code == 400 and wrong.json()["type"] == "invalid_code"
    void = await verify(loose, auth, "email", code)
    assert void.status_code == 429 and void.json()["type"] == "too_many_attempts"
    assert "retry-after" in void.headers
    await send(loose, auth, "email")  # a new code works again
    assert (await verify(loose, auth, "email",
                         await mailed_code(mailbox, "guess@example.com", nth=2))).status_code == 200


async def test_an_expired_code_is_refused(client, mailbox, clock):
    auth = await signed_in(client, mailbox, "late@example.com")
    await send(client, auth, "email")
    code = await mailed_code(mailbox, "late@example.com")
    clock.advance(seconds=901)
    auth = bearer((await sign_in(client, "late@example.com")).json()["accessToken"])
    response = await verify(client, auth, "email", code)
    assert response.status_code == 400 and response.json()["type"] == "invalid_code"
    assert "expired" in response.json()["detail"]


async def test_a_phone_number_is_verified_by_sms(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "phone@example.com")
    no_number = await send(client, auth, "sms")
    assert no_number.status_code == 400 and no_number.json()["errors"][0]["field"] == "value"
    response = await send(client, auth, "sms", "+1 415-555-2671")
    assert response.status_code == 202, response.text
    code = await texted_code(twilio, PHONE)
    assert "It expires in 15 minutes." in twilio.to(PHONE)[0].body
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["phoneNumber"] is None  # stored once proven, not before

    wrong = await verify(client, auth, "sms", other(code))
    assert wrong.json()["type"] == "invalid_code"
    assert (await verify(client, auth, "sms", code)).json() == {"success": True,
                                                                  "method": "sms"}
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["phoneNumber"] == PHONE and profile["phoneVerified"]
    status = (await client.get("/v1/notifications/verification/status", headers=auth)).json()
    assert status["phone"] == {"value": "+1******2671", "verified": True}
    assert status["push"] == {"verified": False, "deviceCount": 0}
    assert status["allVerified"] is False


async def test_without_a_value_the_code_goes_to_the_accounts_number(loose, mailbox, twilio):
    auth = await signed_in(loose, mailbox, "again@example.com")
    await send(loose, auth, "sms", PHONE)
    await verify(loose, auth, "sms", await texted_code(twilio, PHONE))
    assert (await send(loose, auth, "sms")).status_code == 202
    assert (await verify(loose, auth, "sms", await texted_code(twilio, PHONE, nth=2))
            ).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"method": "sms", "value": "4155552671"}, "value"),  # not international
    ({"method": "sms", "value": "+1 415 555"}, "value"),
    ({"method": "email", "value": "not-an-address"}, "value"),
    ({"method": "voice"}, "method"),
    ({"value": "a@b.io"}, "method"),
])
async def test_bad_sends_are_400_naming_the_field(client, mailbox, body, field):
    auth = await signed_in(client, mailbox, "bad@example.com")
    response = await client.post("/v1/notifications/verification/send", json=body,
                                 headers=auth)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


async def test_codes_of_the_wrong_shape_are_400_and_cost_no_attempt(client, mailbox):
    auth = await signed_in(client, mailbox, "shape@example.com")
    await send(client, auth, "email")
    code = await mailed_code(mailbox, "shape@example.com")
    for bad in ("12345", "1234567", "abcdef", ""):
        assert (await verify(client, auth, "email", bad)).status_code == 400
    row = await OtpCode.select(OtpCode.attempts).first()
    assert row["attempts"] == 0
    assert (await verify(client, auth, "email", code)).status_code == 200


async def test_audit_events_hold_masked_values_only(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "audit@example.com")
    await send(client, auth, "sms", PHONE)
    await verify(client, auth, "sms", await texted_code(twilio, PHONE))
    events = (await client.get("/v1/auth/security-events", headers=auth)).json()["items"]
    sent = next(e for e in events if e["action"] == "contact.code.sent")
    verified = next(e for e in events if e["action"] == "contact.verified")
    assert sent["metadata"] == {"method": "sms", "value": "+1******2671"}
    assert verified["metadata"]["value"] == "+1******2671"
    rows = await AuditEvent.select(AuditEvent.metadata)
    assert PHONE.lstrip("+") not in str(rows)


async def test_routes_need_a_bearer_token(client):
    for method, path in (("POST", "/v1/notifications/verification/send"),
                         ("POST", "/v1/notifications/verification/verify"),
                         ("GET", "/v1/notifications/verification/status")):
        response = await client.request(method, path, json={"method": "email", "code": "1"})
        assert response.status_code == 401


async def test_contact_codes_have_a_daily_cap(settings, mailbox, clock):
    """5 guesses a code and a code a minute would allow ~7,200 guesses a day: a daily cap
    per account bounds them (CONTACT_CODE_DAILY_CAP)."""
    capped = settings.replace(contact_code_daily_cap=2,
                              rate_limit_contact_code_per_account="100/minute")
    async with serving(capped, clock) as client:
        auth = await signed_in(client, mailbox, "cap@example.com")
        for _ in range(2):
            assert (await send(client, auth, "email")).status_code == 202
        refused = await send(client, auth, "email")
        assert refused.status_code == 429
        assert refused.json()["setting"] == "CONTACT_CODE_DAILY_CAP"
