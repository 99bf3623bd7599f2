"""SMS two-factor through the real twilio SDK against the local Twilio stub: enrolment,
the SMS challenge, the SMS pumping limits (a refused send never reaches the stub)."""

from __future__ import annotations

import asyncio

import jwt

from db.tables import AuditEvent, OtpCode, OutboxMessage
from domain.names import AuditAction
from tests.support import PASSWORD, bearer, sign_in, verified_user, wait_mail

PHONE = "+14155552671"
ENABLE = "/v1/auth/two-factor/sms/enable"
CHALLENGE_SMS = "/v1/auth/two-factor/challenge/sms"
VERIFY = "/v1/auth/two-factor/challenge/verify"


def amr_of(access_token: str) -> list[str]:
    return jwt.decode(access_token, options={"verify_signature": False})["amr"]


async def sms(twilio, number: str, count: int = 1) -> str:
    """The code of the ``count``-th SMS to ``number``, read at the stub."""
    received = await asyncio.to_thread(twilio.wait_for, number, count)
    return received[count - 1].code


async def signed_in(client, mailbox, email: str) -> dict:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


async def enrol(client, twilio, headers, phone: str = PHONE) -> dict:
    started = await client.post(ENABLE, json={"phoneNumber": phone, "password": PASSWORD},
                                headers=headers)
    assert started.status_code == 200, started.text
    code = await sms(twilio, phone, len(twilio.to(phone)) + 1)
    verified = await client.post("/v1/auth/two-factor/sms/verify", json={"code": code},
                                 headers=headers)
    assert verified.status_code == 200, verified.text
    return verified.json()


async def test_enrol_then_sign_in_with_an_sms_code(client, mailbox, twilio, settings):
    headers = await signed_in(client, mailbox, "sid@example.com")
    started = await client.post(ENABLE, json={"phoneNumber": "+1 415 555 2671",
                                              "password": PASSWORD}, headers=headers)
    assert started.status_code == 200 and started.json()["phoneNumber"] == PHONE
    first = (await asyncio.to_thread(twilio.wait_for, PHONE))[0]
    assert first.sender == settings.twilio_from_number and "verification code" in first.body
    stored = await OtpCode.select(OtpCode.code_hmac, OtpCode.target).first()
    assert stored["target"] == PHONE and first.code not in stored["code_hmac"]
    profile = (await client.get("/v1/auth/profile", headers=headers)).json()
    assert profile["twoFactor"]["smsEnabled"] is False  # not before the code comes back

    done = await client.post("/v1/auth/two-factor/sms/verify", json={"code": first.code},
                             headers=headers)
    assert done.status_code == 200, done.text
    codes = done.json()["backupCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    profile = (await client.get("/v1/auth/profile", headers=headers)).json()
    assert profile["twoFactor"] == {"totpEnabled": False, "smsEnabled": True,
                                    "backupCodesRemaining": 10}
    alert = (await wait_mail(mailbox, "sid@example.com",
                             subject="Two-factor authentication was turned on"))[-1]
    assert "(SMS)" in alert.text
    assert await AuditEvent.count().where(
        AuditEvent.action == AuditAction.TWO_FACTOR_ENABLED.value) == 1

    pending = (await sign_in(client, "sid@example.com")).json()
    assert pending["twoFactorMethods"] == ["sms", "backup"]
    sent = await client.post(CHALLENGE_SMS, json={"twoFactorToken": pending["twoFactorToken"]})
    assert sent.status_code == 200 and "+1******2671" in sent.json()["message"]
    code = await sms(twilio, PHONE, 2)
    assert "sign-in code" in twilio.to(PHONE)[1].body
    wrong = await client.post(VERIFY, json={"twoFactorToken": pending["twoFactorToken"],
                                            "method": "sms", "code": first.code})
    assert wrong.status_code == 400 and wrong.json()["type"] == "invalid_code"
    response = await client.post(VERIFY, json={"twoFactorToken": pending["twoFactorToken"],
                                               "method": "sms", "code": code})
    assert response.status_code == 200, response.text
    assert amr_of(response.json()["accessToken"]) == ["pwd", "sms"]


async def test_totp_comes_first_and_existing_backup_codes_are_kept(client, mailbox, twilio,
                                                                   clock):
    import pyotp

    headers = await signed_in(client, mailbox, "both@example.com")
    enrolment = (await client.post("/v1/auth/two-factor/totp/enable",
                                   json={"password": PASSWORD}, headers=headers)).json()
    assert (await client.post("/v1/auth/two-factor/totp/verify", headers=headers, json={
        "code": pyotp.TOTP(enrolment["secret"]).at(clock.now)})).status_code == 200
    totp_only = (await sign_in(client, "both@example.com")).json()["twoFactorToken"]
    refused = await client.post(CHALLENGE_SMS, json={"twoFactorToken": totp_only})
    assert refused.status_code == 409 and refused.json()["type"] == "two_factor_not_enabled"
    assert twilio.requests == 0
    assert (await enrol(client, twilio, headers))["backupCodes"] == []  # the TOTP ones stay
    pending = (await sign_in(client, "both@example.com")).json()
    assert pending["twoFactorMethods"] == ["totp", "sms", "backup"]  # NIST 800-63B: SMS last
    backup = await client.post(VERIFY, json={"twoFactorToken": pending["twoFactorToken"],
                                             "method": "backup",
                                             "code": enrolment["backupCodes"][0]})
    assert backup.status_code == 200


async def test_wrong_input_sends_nothing(client, mailbox, twilio):
    headers = await signed_in(client, mailbox, "nope@example.com")
    bad_number = await client.post(ENABLE, json={"phoneNumber": "4155552671",
                                                 "password": PASSWORD}, headers=headers)
    assert bad_number.status_code == 400
    assert bad_number.json()["errors"][0]["field"] == "phoneNumber"
    bad_password = await client.post(ENABLE, json={"phoneNumber": PHONE, "password": "wrong"},
                                     headers=headers)
    assert bad_password.status_code == 400
    assert bad_password.json()["errors"][0]["field"] == "password"
    unauthenticated = await client.post(ENABLE, json={"phoneNumber": PHONE,
                                                      "password": PASSWORD})
    assert unauthenticated.status_code == 401
    no_code = await client.post("/v1/auth/two-factor/sms/verify", json={"code": "123456"},
                                headers=headers)
    assert no_code.status_code == 400 and no_code.json()["type"] == "invalid_code"
    assert await OutboxMessage.count().where(OutboxMessage.channel == "sms") == 0
    assert twilio.requests == 0


async def test_a_wrong_enrolment_code_turns_nothing_on(client, mailbox, twilio):
    headers = await signed_in(client, mailbox, "typo@example.com")
    assert (await client.post(ENABLE, json={"phoneNumber": PHONE, "password": PASSWORD},
                              headers=headers)).status_code == 200
    code = await sms(twilio, PHONE)
    wrong = await client.post("/v1/auth/two-factor/sms/verify",
                              json={"code": f"{(int(code) + 1) % 10 ** 6:06d}"}, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["type"] == "invalid_code"
    profile = (await client.get("/v1/auth/profile", headers=headers)).json()
    assert profile["twoFactor"]["smsEnabled"] is False
    assert (await sign_in(client, "typo@example.com")).json().get("requiresTwoFactor") is None


async def test_the_per_number_limit_refuses_before_anything_reaches_twilio(client, mailbox,
                                                                           twilio, settings):
    assert settings.rate_limit_sms_per_number == "3/15 minutes"
    headers = await signed_in(client, mailbox, "pump@example.com")
    await enrol(client, twilio, headers)  # SMS 1 to the number
    token = (await sign_in(client, "pump@example.com")).json()["twoFactorToken"]
    for n in (2, 3):
        assert (await client.post(CHALLENGE_SMS,
                                  json={"twoFactorToken": token})).status_code == 200
        await sms(twilio, PHONE, n)
    refused = await client.post(CHALLENGE_SMS, json={"twoFactorToken": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["setting"] == "RATE_LIMIT_SMS_PER_NUMBER"
    # refused before the outbox: the worker has nothing more to hand to Twilio
    assert await OutboxMessage.count().where(OutboxMessage.channel == "sms") == 3
    assert twilio.requests == 3 and len(twilio.to(PHONE)) == 3


async def test_challenge_sms_needs_sms_two_factor_and_a_live_token(client, mailbox, twilio,
                                                                   clock):
    headers = await signed_in(client, mailbox, "late@example.com")
    await enrol(client, twilio, headers)
    token = (await sign_in(client, "late@example.com")).json()["twoFactorToken"]
    clock.advance(seconds=301)
    expired = await client.post(CHALLENGE_SMS, json={"twoFactorToken": token})
    assert expired.status_code == 400 and expired.json()["type"] == "token_expired"
    unknown = await client.post(CHALLENGE_SMS, json={"twoFactorToken": "y" * 43})
    assert unknown.status_code == 400 and unknown.json()["type"] == "invalid_token"
    assert twilio.requests == 1  # the enrolment code only

    disabled = await client.post("/v1/auth/two-factor/disable", headers=headers,
                                 json={"password": PASSWORD, "method": "sms"})
    assert disabled.status_code == 200, disabled.text
    assert "requiresTwoFactor" not in (await sign_in(client, "late@example.com")).json()


async def test_starting_totp_keeps_the_backup_codes_of_an_sms_user(client, mailbox, twilio):
    """Starting (and abandoning) a TOTP enrolment must not silently kill printed codes."""
    headers = await signed_in(client, mailbox, "kept@example.com")
    codes = (await enrol(client, twilio, headers))["backupCodes"]
    assert len(codes) == 10
    started = await client.post("/v1/auth/two-factor/totp/enable", headers=headers,
                                json={"password": PASSWORD})
    assert started.status_code == 200 and started.json()["backupCodes"] == []
    pending = (await sign_in(client, "kept@example.com")).json()
    used = await client.post(VERIFY, json={"twoFactorToken": pending["twoFactorToken"],
                                           "method": "backup", "code": codes[0]})
    assert used.status_code == 200, used.text
