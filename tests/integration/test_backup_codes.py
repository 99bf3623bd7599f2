"""Backup codes, regeneration and turning two-factor off, on the real app, worker, mailbox
and database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from db.repositories import users
from db.tables import BackupCode, TotpCredential, User
from domain.services import Services
from domain.two_factor import backup_codes
from scripts.bootstrap import bootstrap
from tests.integration.test_totp import (
    INFO,
    TWO_FACTOR,
    actions,
    enable,
    enrolled,
    metadata,
    signed_in,
)
from tests.support import PASSWORD, wait_mail

FORMAT = re.compile(r"^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$")


@pytest.fixture
async def svc(client, settings, clock) -> AsyncIterator[Services]:
    """The use cases' services on the same database, Redis and clock as ``client``."""
    built = await bootstrap(settings, clock=clock)
    yield built.services
    await built.close()


async def count(client, auth) -> dict:
    return (await client.get(f"{TWO_FACTOR}/backup-codes/count", headers=auth)).json()


async def regenerate(client, auth, password: str = PASSWORD):
    return await client.post(f"{TWO_FACTOR}/backup-codes/regenerate", headers=auth,
                             json={"password": password})


async def disable(client, auth, method: str, password: str = PASSWORD):
    return await client.post(f"{TWO_FACTOR}/disable", headers=auth,
                             json={"password": password, "method": method})


async def codes_of(client, auth) -> list[str]:
    response = await regenerate(client, auth)
    assert response.status_code == 200, response.text
    return response.json()["backupCodes"]


async def test_codes_are_single_use_any_case_with_or_without_dash(client, mailbox, clock, svc):
    auth, _ = await enrolled(client, mailbox, clock, "bea@example.com")
    codes = await codes_of(client, auth)
    assert len(codes) == len(set(codes)) == 10 and all(FORMAT.match(c) for c in codes)
    assert await BackupCode.count().where(BackupCode.code_hmac.is_in(
        [c for code in codes for c in (code, code.replace("-", ""))])) == 0  # never in clear
    user = await users.get_by_email("bea@example.com")
    assert await backup_codes.use(svc, user, codes[0], info=INFO) == 9
    assert await backup_codes.use(svc, user, codes[0], info=INFO) is None
    assert await backup_codes.use(svc, user, codes[1].replace("-", "").upper(), info=INFO) == 8
    assert await backup_codes.use(svc, user, f"  {codes[2][:3]} {codes[2][3:].upper()} ",
                                  info=INFO) == 7
    assert await backup_codes.use(svc, user, "zzzzz-zzzzz", info=INFO) is None

    listed = await count(client, auth)
    assert (listed["total"], listed["remaining"]) == (10, 7) and listed["generatedAt"]
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["twoFactor"]["backupCodesRemaining"] == 7
    alerts = await wait_mail(mailbox, "bea@example.com", count=3,
                             subject="A backup code was used to sign in")
    assert sorted(re.search(r"(\d+) backup codes remain", a.text).group(1)
                  for a in alerts) == ["7", "8", "9"]
    assert "203.0.113.7" in alerts[0].text
    used = [metadata(e) for e in await _events(user.id, "auth.backup_codes.used")]
    assert sorted(m["remaining"] for m in used) == [7, 8, 9]


async def _events(user_id, action):
    from db.tables import AuditEvent

    return await AuditEvent.select(AuditEvent.metadata).where(
        (AuditEvent.user_id == user_id) & (AuditEvent.action == action))


async def test_parallel_uses_of_codes_count_right(client, mailbox, clock, svc):
    auth, _ = await enrolled(client, mailbox, clock, "race@example.com")
    codes = await codes_of(client, auth)
    user = await users.get_by_email("race@example.com")
    same = await asyncio.gather(*(backup_codes.use(svc, user, codes[0], info=INFO)
                                  for _ in range(4)))
    assert sorted(same, key=str) == [9, None, None, None]
    different = await asyncio.gather(*(backup_codes.use(svc, user, c, info=INFO)
                                       for c in codes[1:5]))
    assert sorted(different) == [5, 6, 7, 8]
    assert (await users.get_by_email("race@example.com")).backup_codes_remaining == 5
    assert (await count(client, auth))["remaining"] == 5


async def test_regenerating_kills_the_old_codes(client, mailbox, clock, svc):
    auth = await signed_in(client, mailbox, "regen@example.com")
    assert (await regenerate(client, auth)).json()["type"] == "two_factor_not_enabled"
    assert (await count(client, auth)) == {"total": 0, "remaining": 0, "generatedAt": None}
    auth, _ = await enrolled(client, mailbox, clock, "regen2@example.com")
    old = await codes_of(client, auth)
    wrong = await regenerate(client, auth, password="not my password at all")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "password"
    new = await codes_of(client, auth)
    assert set(old).isdisjoint(new)
    user = await users.get_by_email("regen2@example.com")
    assert await backup_codes.use(svc, user, old[0], info=INFO) is None
    assert await backup_codes.use(svc, user, new[0], info=INFO) == 9
    alert = (await wait_mail(mailbox, "regen2@example.com", count=2,
                             subject="New backup codes were generated"))[-1]
    assert "the old ones no longer work" in alert.text
    assert (await actions("regen2@example.com")).count("auth.backup_codes.regenerated") == 2


async def test_the_codes_of_an_enrolment_work_and_a_new_enrolment_replaces_them(
        client, mailbox, clock, svc):
    auth = await signed_in(client, mailbox, "swap@example.com")
    first = (await enable(client, auth)).json()["backupCodes"]
    second = (await enable(client, auth)).json()["backupCodes"]
    user = await users.get_by_email("swap@example.com")
    assert await backup_codes.use(svc, user, first[0], info=INFO) is None
    assert await backup_codes.use(svc, user, second[0], info=INFO) == 9


async def test_disabling_the_last_method_deletes_the_backup_codes(client, mailbox, clock):
    auth, _ = await enrolled(client, mailbox, clock, "off@example.com")
    assert (await disable(client, auth, "sms")).json()["type"] == "two_factor_not_enabled"
    wrong = await disable(client, auth, "totp", password="not my password at all")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "password"
    assert (await count(client, auth))["remaining"] == 10

    response = await disable(client, auth, "totp")
    assert response.status_code == 200, response.text
    assert (await count(client, auth)) == {"total": 0, "remaining": 0, "generatedAt": None}
    assert await BackupCode.count() == 0 and await TotpCredential.count() == 0
    status = (await client.get(f"{TWO_FACTOR}/status", headers=auth)).json()
    assert status == {"totpEnabled": False, "smsEnabled": False, "smsPhoneNumber": None,
                      "backupCodesGenerated": False, "backupCodesRemaining": 0}
    profile = (await client.get("/v1/auth/profile", headers=auth)).json()
    assert profile["twoFactor"] == {"totpEnabled": False, "smsEnabled": False,
                                    "backupCodesRemaining": 0}
    alert = (await wait_mail(mailbox, "off@example.com",
                             subject="Two-factor authentication was turned off"))[0]
    assert "(authenticator app) was turned off" in alert.text
    assert "auth.two_factor.disabled" in await actions("off@example.com")
    assert (await disable(client, auth, "totp")).json()["type"] == "two_factor_not_enabled"


async def test_backup_codes_stay_while_another_method_is_on(client, mailbox, clock):
    auth, _ = await enrolled(client, mailbox, clock, "both@example.com")
    user = await users.get_by_email("both@example.com")
    # SMS two-factor as its own enrolment leaves it (another module's flow)
    await User.update({User.sms_two_factor_phone: "+14155552671"}).where(User.id == user.id)
    assert (await disable(client, auth, "totp")).status_code == 200
    status = (await client.get(f"{TWO_FACTOR}/status", headers=auth)).json()
    assert status == {"totpEnabled": False, "smsEnabled": True, "smsPhoneNumber": "+1******2671",
                      "backupCodesGenerated": True, "backupCodesRemaining": 10}
    assert (await disable(client, auth, "sms")).status_code == 200
    assert (await count(client, auth))["total"] == 0
    alerts = await wait_mail(mailbox, "both@example.com", count=2,
                             subject="Two-factor authentication was turned off")
    assert sorted("(SMS codes)" in a.text for a in alerts) == [False, True]


async def test_routes_need_a_signed_in_user(client):
    for method, path in (("GET", "/status"), ("GET", "/backup-codes/count"),
                         ("POST", "/backup-codes/regenerate"), ("POST", "/disable"),
                         ("POST", "/totp/verify")):
        response = await client.request(method, f"{TWO_FACTOR}{path}", json={})
        assert response.status_code == 401, (path, response.text)
