"""TOTP on the real app, worker, mailbox and database: enrol from the QR code, verify, the
secret never in clear at rest, replay refused (also under parallel submissions), ±1 step."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from db.repositories import users
from db.tables import AuditEvent, OutboxMessage, TotpCredential
from domain.encryption import SecretBox
from domain.services import RequestInfo, Services
from domain.two_factor import totp
from scripts.bootstrap import bootstrap
from tests.support import PASSWORD, bearer, sign_in, verified_user, wait_mail
from tests.unit.test_totp_vectors import totp as rfc6238

INFO = RequestInfo(ip_address="203.0.113.7", user_agent="totp-test/1.0")
TWO_FACTOR = "/v1/auth/two-factor"


@pytest.fixture
async def svc(client, settings, clock) -> AsyncIterator[Services]:
    """The use cases' services on the same database, Redis and clock as ``client``."""
    built = await bootstrap(settings, clock=clock)
    yield built.services
    await built.close()


async def signed_in(client, mailbox, email: str) -> dict[str, str]:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


async def enable(client, auth, password: str = PASSWORD):
    return await client.post(f"{TWO_FACTOR}/totp/enable", headers=auth,
                             json={"password": password})


async def verify(client, auth, code: str):
    return await client.post(f"{TWO_FACTOR}/totp/verify", headers=auth, json={"code": code})


def code_now(clock, secret: str, step_offset: int = 0) -> str:
    return rfc6238(secret, clock().timestamp(), step_offset=step_offset)


async def enrolled(client, mailbox, clock, email: str) -> tuple[dict[str, str], str]:
    """A signed-in user with TOTP on: (auth headers, secret)."""
    auth = await signed_in(client, mailbox, email)
    secret = (await enable(client, auth)).json()["secret"]
    assert (await verify(client, auth, code_now(clock, secret))).status_code == 200
    return auth, secret


async def actions(email: str) -> list[str]:
    user = await users.get_by_email(email)
    rows = await AuditEvent.select(AuditEvent.action).where(AuditEvent.user_id == user.id)
    return [r["action"] for r in rows]


def metadata(row: dict) -> dict:
    value = row["metadata"]
    return json.loads(value) if isinstance(value, str) else value


async def test_enrol_from_the_qr_code_and_verify(client, mailbox, clock, settings):
    from tests.support import decode_qr

    auth = await signed_in(client, mailbox, "ada@example.com")
    response = await enable(client, auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert decode_qr(body["qrCode"]) == body["otpauthUri"]
    uri = urlparse(body["otpauthUri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/latchkey:ada@example.com"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]] and query["issuer"] == ["latchkey"]
    assert len(body["secret"]) == 32  # base32: 160 bits
    assert len(body["backupCodes"]) == 10

    profile = await client.get("/v1/auth/profile", headers=auth)
    assert profile.json()["twoFactor"]["totpEnabled"] is False  # not before verify
    assert (await verify(client, auth, "000000" if code_now(clock, body["secret"]) != "000000"
                         else "111111")).json()["type"] == "invalid_code"
    assert (await verify(client, auth, code_now(clock, body["secret"]))).status_code == 200

    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["twoFactor"] == {"totpEnabled": True, "smsEnabled": False,
                                    "backupCodesRemaining": 10}
    status = (await client.get(f"{TWO_FACTOR}/status", headers=auth)).json()
    assert status == {"totpEnabled": True, "smsEnabled": False, "smsPhoneNumber": None,
                      "backupCodesGenerated": True, "backupCodesRemaining": 10}
    alert = (await wait_mail(mailbox, "ada@example.com",
                             subject="Two-factor authentication was turned on"))[0]
    assert "(authenticator app)" in alert.text and "If it was not" in alert.text
    user = await users.get_by_email("ada@example.com")
    event = await AuditEvent.select(AuditEvent.metadata).where(
        (AuditEvent.user_id == user.id)
        & (AuditEvent.action == "auth.two_factor.enabled")).first()
    assert event is not None and metadata(event) == {"method": "totp"}
    # the verifying code's step is used up: verify again has nothing waiting
    assert (await verify(client, auth, code_now(clock, body["secret"]))).json()["type"] == \
        "totp_not_pending"
    assert (await enable(client, auth)).json()["type"] == "totp_already_enabled"


async def test_the_secret_is_never_stored_in_clear(client, mailbox, clock, settings):
    auth = await signed_in(client, mailbox, "vault@example.com")
    secret = (await enable(client, auth)).json()["secret"]
    row = await TotpCredential.select().first()
    assert secret not in json.dumps(row, default=str)
    assert SecretBox(settings).decrypt(row["pending_secret_encrypted"]) == secret
    assert (await verify(client, auth, code_now(clock, secret))).status_code == 200
    await wait_mail(mailbox, "vault@example.com", subject="Two-factor authentication was turned on")
    row = await TotpCredential.select().first()
    assert row["pending_secret_encrypted"] is None
    assert secret not in json.dumps(row, default=str)
    assert SecretBox(settings).decrypt(row["secret_encrypted"]) == secret
    outbox = await OutboxMessage.select()
    assert outbox and secret not in json.dumps(outbox, default=str)
    assert secret not in json.dumps(await AuditEvent.select(), default=str)


async def test_enabling_again_before_verify_replaces_the_pending_secret(client, mailbox, clock):
    auth = await signed_in(client, mailbox, "twice@example.com")
    first = (await enable(client, auth)).json()
    second = (await enable(client, auth)).json()
    assert first["secret"] != second["secret"]
    assert set(first["backupCodes"]).isdisjoint(second["backupCodes"])
    assert (await verify(client, auth, code_now(clock, first["secret"]))).json()["type"] == \
        "invalid_code"
    assert (await verify(client, auth, code_now(clock, second["secret"]))).status_code == 200


async def test_wrong_password_enrols_nothing(client, mailbox, clock):
    auth = await signed_in(client, mailbox, "oops@example.com")
    response = await enable(client, auth, password="not my password at all")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "password",
                                          "message": "is not your current password"}]
    assert (await verify(client, auth, "123456")).json()["type"] == "totp_not_pending"
    assert await TotpCredential.count() == 0
    assert "auth.reauth.failed" in await actions("oops@example.com")
    assert (await client.post(f"{TWO_FACTOR}/totp/enable",
                              json={"password": PASSWORD})).status_code == 401


async def test_a_code_is_accepted_once_and_a_replay_is_audited(client, mailbox, clock, svc):
    _, secret = await enrolled(client, mailbox, clock, "replay@example.com")
    user = await users.get_by_email("replay@example.com")
    # the code that verified the enrolment cannot sign in afterwards
    assert await totp.check_code(svc, user, code_now(clock, secret), info=INFO) is False
    clock.advance(seconds=30)
    code = code_now(clock, secret)
    assert await totp.check_code(svc, user, code, info=INFO) is True
    assert await totp.check_code(svc, user, code, info=INFO) is False
    # an older step inside the window is no way around it either
    assert await totp.check_code(svc, user, code_now(clock, secret, -1), info=INFO) is False
    assert (await actions("replay@example.com")).count("auth.two_factor.replay_refused") == 3
    wrong = "000000" if code != "000000" else "111111"
    assert await totp.check_code(svc, user, wrong, info=INFO) is False
    assert (await actions("replay@example.com")).count("auth.two_factor.replay_refused") == 3


async def test_parallel_submissions_of_one_code_pass_exactly_once(client, mailbox, clock, svc):
    _, secret = await enrolled(client, mailbox, clock, "race@example.com")
    user = await users.get_by_email("race@example.com")
    for _ in range(5):
        clock.advance(seconds=30)
        code = code_now(clock, secret)
        results = await asyncio.gather(*(totp.check_code(svc, user, code, info=INFO)
                                         for _ in range(4)))
        assert sorted(results) == [False, False, False, True]


async def test_one_step_of_drift_is_accepted_two_are_not(client, mailbox, clock, svc):
    auth = await signed_in(client, mailbox, "drift@example.com")
    secret = (await enable(client, auth)).json()["secret"]
    assert (await verify(client, auth, code_now(clock, secret, -2))).status_code == 400
    assert (await verify(client, auth, code_now(clock, secret, 2))).status_code == 400
    assert (await verify(client, auth, code_now(clock, secret, -1))).status_code == 200
    user = await users.get_by_email("drift@example.com")
    clock.advance(seconds=300)
    for offset in (-2, 2):
        assert await totp.check_code(svc, user, code_now(clock, secret, offset),
                                     info=INFO) is False
    assert await totp.check_code(svc, user, code_now(clock, secret, -1), info=INFO) is True
    assert await totp.check_code(svc, user, code_now(clock, secret, 1), info=INFO) is True
    assert "auth.two_factor.replay_refused" not in await actions("drift@example.com")


async def test_check_code_refuses_to_run_inside_a_transaction(client, mailbox, clock, svc):
    from db.transaction import transaction

    await enrolled(client, mailbox, clock, "inside@example.com")
    user = await users.get_by_email("inside@example.com")
    with pytest.raises(RuntimeError):
        async with transaction():
            await totp.check_code(svc, user, "123456", info=INFO)
