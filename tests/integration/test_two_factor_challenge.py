"""The two-factor challenge of a sign-in: TOTP and backup codes, attempts, single use, expiry,
the lockout, and the ``amr`` claim (RFC 8176) the session keeps across refreshes."""

from __future__ import annotations

import asyncio
import dataclasses

import jwt
import pyotp

from db.tables import AuditEvent, Session, TwoFactorChallenge
from domain.maintenance import delete_expired
from domain.names import AuditAction
from tests.support import (
    PASSWORD,
    bearer,
    serving,
    sign_in,
    token_of,
    verified_user,
    wait_mail,
)

VERIFY = "/v1/auth/two-factor/challenge/verify"


def amr_of(access_token: str) -> list[str]:
    return jwt.decode(access_token, options={"verify_signature": False})["amr"]


async def totp_user(client, mailbox, clock, email: str) -> tuple[pyotp.TOTP, list[str]]:
    """A verified account with TOTP on (through /totp/enable and /totp/verify) and signed
    out; returns its authenticator and its 10 backup codes. The clock is moved one step on,
    so the enrolment code's step is not replayed."""
    await verified_user(client, mailbox, email)
    pair = (await sign_in(client, email)).json()
    enrol = (await client.post("/v1/auth/two-factor/totp/enable", json={"password": PASSWORD},
                               headers=bearer(pair["accessToken"]))).json()
    app = pyotp.TOTP(enrol["secret"])
    verified = await client.post("/v1/auth/two-factor/totp/verify",
                                 json={"code": app.at(clock.now)},
                                 headers=bearer(pair["accessToken"]))
    assert verified.status_code == 200, verified.text
    assert (await client.post("/v1/auth/signout",
                              json={"refreshToken": pair["refreshToken"]})).status_code == 204
    clock.advance(seconds=30)
    return app, enrol["backupCodes"]


async def challenge(client, email: str, **extra) -> dict:
    response = await sign_in(client, email, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requiresTwoFactor"] is True and "accessToken" not in body
    return body


async def answer(client, token: str, method: str, code: str, **extra):
    return await client.post(VERIFY, json={"twoFactorToken": token, "method": method,
                                           "code": code, **extra})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


async def test_totp_answers_the_challenge_with_amr_pwd_otp_kept_across_refresh(client, mailbox,
                                                                               clock):
    app, _ = await totp_user(client, mailbox, clock, "otto@example.com")
    sessions_before = await Session.count()
    pending = await challenge(client, "otto@example.com", deviceName="Otto's laptop")
    assert pending["twoFactorMethods"] == ["totp", "backup"]
    assert await Session.count() == sessions_before  # no session before the second factor
    assert await TwoFactorChallenge.count() == 1
    stored = await TwoFactorChallenge.select(TwoFactorChallenge.token_hash).first()
    assert stored["token_hash"] != pending["twoFactorToken"]  # only its SHA-256 is kept

    response = await answer(client, pending["twoFactorToken"], "totp", app.at(clock.now))
    assert response.status_code == 200, response.text
    pair = response.json()
    assert amr_of(pair["accessToken"]) == ["pwd", "otp"]
    assert pair["user"]["twoFactor"] == {"totpEnabled": True, "smsEnabled": False,
                                         "backupCodesRemaining": 10}
    listed = (await client.get("/v1/auth/sessions", headers=bearer(pair["accessToken"]))).json()
    assert [s["deviceName"] for s in listed] == ["Otto's laptop"]  # carried over from sign-in
    for _ in range(2):
        pair = (await client.post("/v1/auth/refresh",
                                  json={"refreshToken": pair["refreshToken"]})).json()
        assert amr_of(pair["accessToken"]) == ["pwd", "otp"]

    again = await answer(client, pending["twoFactorToken"], "totp", app.at(clock.now))
    assert again.status_code == 400 and again.json()["type"] == "invalid_token"


async def test_a_backup_code_signs_in_once_and_the_alert_says_how_many_remain(client, mailbox,
                                                                              clock):
    _, codes = await totp_user(client, mailbox, clock, "bea@example.com")
    pending = await challenge(client, "bea@example.com")
    typed = codes[0].replace("-", "").upper()  # as a person may type it
    response = await answer(client, pending["twoFactorToken"], "backup", typed)
    assert response.status_code == 200, response.text
    assert amr_of(response.json()["accessToken"]) == ["pwd", "backup"]
    assert response.json()["user"]["twoFactor"]["backupCodesRemaining"] == 9

    alert = (await wait_mail(mailbox, "bea@example.com",
                             subject="A backup code was used to sign in"))[-1]
    assert "9 backup codes remain" in alert.text and codes[0] not in alert.text

    reused = await answer(client, (await challenge(client, "bea@example.com"))["twoFactorToken"],
                          "backup", codes[0])
    assert reused.status_code == 400 and reused.json()["type"] == "invalid_code"


async def test_five_wrong_codes_end_the_challenge(client, mailbox, clock):
    app, _ = await totp_user(client, mailbox, clock, "wendy@example.com")
    token = (await challenge(client, "wendy@example.com"))["twoFactorToken"]
    right = app.at(clock.now)
    for _ in range(4):
        response = await answer(client, token, "totp", wrong(right))
        assert response.status_code == 400 and response.json()["type"] == "invalid_code"
    fifth = await answer(client, token, "totp", wrong(right))
    assert fifth.status_code == 429 and fifth.json()["type"] == "too_many_attempts"
    assert int(fifth.headers["retry-after"]) >= 1
    dead = await answer(client, token, "totp", right)  # even the right code: sign in again
    assert dead.status_code == 429 and dead.json()["type"] == "too_many_attempts"
    failed = await AuditEvent.count().where(
        AuditEvent.action == AuditAction.TWO_FACTOR_CHALLENGE_FAILED.value)
    assert failed == 5

    fresh = (await challenge(client, "wendy@example.com"))["twoFactorToken"]
    assert (await answer(client, fresh, "totp", right)).status_code == 200


async def test_wrong_codes_count_toward_the_account_lockout(settings, mailbox, clock):
    strict = dataclasses.replace(settings, lockout_threshold=3)
    async with serving(strict, clock) as client:
        app, _ = await totp_user(client, mailbox, clock, "lock@example.com")
        token = (await challenge(client, "lock@example.com"))["twoFactorToken"]
        for _ in range(3):
            assert (await answer(client, token, "totp", wrong(app.at(clock.now)))
                    ).status_code == 400
        locked = await answer(client, token, "totp", app.at(clock.now))
        assert locked.status_code == 429 and locked.json()["setting"] == "LOCKOUT_THRESHOLD"
        assert (await sign_in(client, "lock@example.com")).status_code == 401
    started = await AuditEvent.count().where(
        AuditEvent.action == AuditAction.LOCKOUT_STARTED.value)
    assert started == 1


async def test_a_right_password_does_not_forgive_wrong_second_factors(settings, mailbox, clock):
    """Knowing the password must not buy endless code guesses: sign in again after each
    wrong code and the failures still add up to the lockout (OWASP ASVS 2.2.1)."""
    strict = dataclasses.replace(settings, lockout_threshold=3)
    async with serving(strict, clock) as client:
        app, _ = await totp_user(client, mailbox, clock, "again@example.com")
        for _ in range(3):  # a right password each time, then one wrong code
            token = (await challenge(client, "again@example.com"))["twoFactorToken"]
            assert (await answer(client, token, "totp", wrong(app.at(clock.now)))
                    ).status_code == 400
        assert (await sign_in(client, "again@example.com")).status_code == 401  # locked


async def test_abandoned_challenges_do_not_lock_the_owner_out(settings, mailbox, clock):
    strict = dataclasses.replace(settings, lockout_threshold=3)
    async with serving(strict, clock) as client:
        await totp_user(client, mailbox, clock, "busy@example.com")
        for _ in range(5):  # right password, challenge never answered
            assert (await challenge(client, "busy@example.com"))["requiresTwoFactor"]


async def test_parallel_answers_with_one_token_open_one_session(client, mailbox, clock):
    app, codes = await totp_user(client, mailbox, clock, "twins@example.com")
    sessions_before = await Session.count()
    token = (await challenge(client, "twins@example.com"))["twoFactorToken"]
    # two different right backup codes: only the token's single use can stop the second
    results = await asyncio.gather(answer(client, token, "backup", codes[0]),
                                   answer(client, token, "backup", codes[1]))
    assert sorted(r.status_code for r in results) == [200, 400]
    assert await Session.count() == sessions_before + 1

    token = (await challenge(client, "twins@example.com"))["twoFactorToken"]
    results = await asyncio.gather(*(answer(client, token, "totp", app.at(clock.now))
                                     for _ in range(2)))
    assert sorted(r.status_code for r in results) == [200, 400]
    assert await Session.count() == sessions_before + 2


async def test_an_expired_token_is_refused_and_cleaned_up(client, mailbox, clock, settings):
    app, _ = await totp_user(client, mailbox, clock, "late@example.com")
    token = (await challenge(client, "late@example.com"))["twoFactorToken"]
    clock.advance(seconds=settings.two_factor_token_ttl + 1)
    response = await answer(client, token, "totp", app.at(clock.now))
    assert response.status_code == 400 and response.json()["type"] == "token_expired"
    assert (await delete_expired(settings, clock))["two_factor_challenges"] == 1
    assert await TwoFactorChallenge.count() == 0


async def test_unknown_tokens_and_methods_not_enabled_are_400(client, mailbox, clock):
    app, _ = await totp_user(client, mailbox, clock, "sam@example.com")
    unknown = await answer(client, "x" * 43, "totp", "123456")
    assert unknown.status_code == 400 and unknown.json()["type"] == "invalid_token"
    token = (await challenge(client, "sam@example.com"))["twoFactorToken"]
    sms = await answer(client, token, "sms", "123456")  # NIST 800-63B: only enrolled factors
    assert sms.status_code == 400 and sms.json()["errors"][0]["field"] == "method"
    bad = await answer(client, token, "email", "123456")
    assert bad.status_code == 400 and bad.json()["type"] == "validation_failed"
    attempts = await TwoFactorChallenge.select(TwoFactorChallenge.attempts).first()
    assert attempts["attempts"] == 0  # refusals before any code check cost no attempt
    assert (await answer(client, token, "totp", app.at(clock.now))).status_code == 200


async def test_a_magic_link_then_totp_gives_amr_email_otp(client, mailbox, clock):
    app, _ = await totp_user(client, mailbox, clock, "mia@example.com")
    assert (await client.post("/v1/auth/magic-link/request",
                              json={"email": "mia@example.com"})).status_code == 200
    link = (await wait_mail(mailbox, "mia@example.com", subject="Your sign-in link"))[-1]
    pending = (await client.post("/v1/auth/magic-link/verify",
                                 json={"token": token_of(link.links[0])})).json()
    assert pending["requiresTwoFactor"] is True
    response = await answer(client, pending["twoFactorToken"], "totp", app.at(clock.now),
                            refreshTransport="cookie")
    assert response.status_code == 200, response.text
    assert amr_of(response.json()["accessToken"]) == ["email", "otp"]
    assert "refreshToken" not in response.json()
    assert "latchkey_refresh" in response.cookies
