"""Mobile pairing end to end: the switch, pairing tokens and their limits, the QR code, the
paired session (kind, lifetime, amr, rotation, reuse), the 20-way race on one token,
unpairing, the alert and the cleanup — on the real app, worker, database and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta

import jwt
import pytest

from db.tables import AuditEvent, OneTimeToken, Session
from domain.maintenance import delete_expired
from domain.names import AuditAction
from tests.support import (
    PASSWORD,
    bearer,
    decode_qr,
    serving,
    sign_in,
    verified_user,
    wait_mail,
)

PAIRED = "A new device was paired with your account"
ROOMY = {"rate_limit_pair_token_per_account": "100/minute", "rate_limit_pair": "1000/hour"}


@pytest.fixture
async def roomy(settings, clock):
    """The app with loose pairing rate limits, for tests about the other rules."""
    async with serving(settings.replace(**ROOMY), clock) as client:
        yield client


async def account(client, mailbox, email: str, *, enabled: bool = True) -> dict:
    """A verified account signed in on the web; mobile access turned on unless told."""
    await verified_user(client, mailbox, email)
    pair = (await sign_in(client, email)).json()
    if enabled:
        response = await client.post("/v1/mobile/enable", headers=bearer(pair["accessToken"]))
        assert response.json() == {"isEnabled": True}
    return pair


async def new_token(client, web: dict, status: int = 201) -> dict:
    response = await client.post("/v1/mobile/pair-token", headers=bearer(web["accessToken"]))
    assert response.status_code == status, response.text
    return response.json()


async def pair(client, token: str, name: str = "Ann's Pixel", status: int = 200, **extra):
    response = await client.post("/v1/mobile/pair", json={
        "token": token, "deviceName": name, "platform": "android", **extra})
    assert response.status_code == status, response.text
    return response.json()


async def works(client, pair: dict) -> bool:
    response = await client.get("/v1/auth/profile", headers=bearer(pair["accessToken"]))
    assert response.status_code in (200, 401)
    return response.status_code == 200


async def current_session(client, web: dict) -> dict:
    listed = (await client.get("/v1/auth/sessions", headers=bearer(web["accessToken"]))).json()
    return next(s for s in listed if s["current"])


async def test_enable_disable_and_the_device_list(client, mailbox):
    web = await account(client, mailbox, "ann@example.com", enabled=False)
    status = await client.get("/v1/mobile", headers=bearer(web["accessToken"]))
    assert status.json() == {"isEnabled": False, "sessions": []}
    refused = await client.post("/v1/mobile/pair-token", headers=bearer(web["accessToken"]))
    assert refused.status_code == 409 and refused.json()["type"] == "mobile_disabled"

    assert (await client.post("/v1/mobile/enable", headers=bearer(web["accessToken"]))
            ).json() == {"isEnabled": True}
    phone = await pair(client, (await new_token(client, web))["token"])
    pending = (await new_token(client, web))["token"]
    listed = (await client.get("/v1/mobile", headers=bearer(web["accessToken"]))).json()
    assert listed["isEnabled"] is True
    assert [(s["kind"], s["deviceName"], s["platform"], s["current"])
            for s in listed["sessions"]] == [("mobile", "Ann's Pixel", "android", False)]
    mine = (await client.get("/v1/mobile", headers=bearer(phone["accessToken"]))).json()
    assert mine["sessions"][0]["current"] is True

    off = await client.post("/v1/mobile/disable", headers=bearer(web["accessToken"]))
    assert off.status_code == 200 and off.json() == {"isEnabled": False}
    assert not await works(client, phone)  # on the very next request
    assert (await client.post("/v1/auth/refresh", json={"refreshToken": phone["refreshToken"]})
            ).status_code == 401
    assert await works(client, web)  # web sessions are not touched
    assert (await pair(client, pending, status=400))["type"] == "invalid_token"
    rows = await OneTimeToken.select(OneTimeToken.used_at).where(
        OneTimeToken.purpose == "pair_device")
    assert len(rows) == 1 and rows[0]["used_at"] is not None  # pending gone, used one kept
    revoked = await Session.select(Session.revoked_reason).where(Session.kind == "mobile")
    assert revoked == [{"revoked_reason": "mobile_disabled"}]
    actions = {r["action"] for r in await AuditEvent.select(AuditEvent.action)}
    assert {AuditAction.MOBILE_ENABLED, AuditAction.MOBILE_DISABLED,
            AuditAction.PAIRING_TOKEN_CREATED, AuditAction.DEVICE_PAIRED} <= actions


async def test_the_token_is_stored_hashed_and_its_qr_code_holds_the_pairing_uri(
        client, mailbox, clock):
    web = await account(client, mailbox, "bea@example.com")
    issued = await new_token(client, web)
    token = issued["token"]
    assert len(token) == 43  # 256 bits, base64url
    expires = datetime.fromisoformat(issued["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (clock.now + timedelta(seconds=900))) < timedelta(seconds=1)
    assert decode_qr(issued["qrCode"]) == (
        f"latchkey://pair?server=https%3A%2F%2Fapp.example.test&token={token}")
    row = await OneTimeToken.select().where(OneTimeToken.purpose == "pair_device").first()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["created_by"] == uuid.UUID((await current_session(client, web))["id"])
    events = await AuditEvent.select(AuditEvent.metadata).where(
        AuditEvent.action == AuditAction.PAIRING_TOKEN_CREATED)
    assert len(events) == 1 and token not in str(events[0]["metadata"])


async def test_pairing_opens_a_90_day_mobile_session_that_rotates(client, mailbox, clock):
    web = await account(client, mailbox, "cy@example.com")
    token = (await new_token(client, web))["token"]
    phone = await pair(client, token, "Cy's iPhone", platform="ios")
    assert phone["tokenType"] == "Bearer" and phone["user"]["email"] == "cy@example.com"
    claims = jwt.decode(phone["accessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd"]  # the amr of the session that asked for the token
    session = await current_session(client, phone)
    assert (session["kind"], session["deviceName"], session["platform"]) == (
        "mobile", "Cy's iPhone", "ios")
    expires = datetime.fromisoformat(session["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (clock.now + timedelta(days=90))) < timedelta(seconds=1)
    used = await OneTimeToken.select(OneTimeToken.used_at).where(
        OneTimeToken.token_hash == hashlib.sha256(token.encode()).hexdigest()).first()
    assert used["used_at"] is not None  # the row stays: the audit trail

    alert = (await wait_mail(mailbox, "cy@example.com", subject=PAIRED))[0]
    assert "Cy's iPhone" in alert.text and token not in alert.text
    assert (await pair(client, token, status=400))["type"] == "invalid_token"  # single use

    clock.advance(days=30)
    rotated = await client.post("/v1/auth/refresh", json={"refreshToken": phone["refreshToken"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert jwt.decode(new["accessToken"], options={"verify_signature": False})["amr"] == ["pwd"]
    again = await current_session(client, new)
    assert again["expiresAt"] == session["expiresAt"]  # a fixed lifetime: no sliding
    clock.advance(seconds=11)  # past the reuse grace window
    replay = await client.post("/v1/auth/refresh", json={"refreshToken": phone["refreshToken"]})
    assert replay.status_code == 401 and replay.json()["type"] == "token_reuse_detected"
    assert not await works(client, new)
    assert (await client.post("/v1/auth/refresh", json={"refreshToken": new["refreshToken"]})
            ).status_code == 401


async def test_expired_unknown_and_malformed_tokens_are_400(client, mailbox, clock):
    web = await account(client, mailbox, "dee@example.com")
    token = (await new_token(client, web))["token"]
    clock.advance(seconds=901)
    assert (await pair(client, token, status=400))["type"] == "token_expired"
    assert (await pair(client, "A" * 43, status=400))["type"] == "invalid_token"
    blank = await pair(client, token, "   ", status=400)
    assert blank["errors"] == [{"field": "deviceName", "message": "must not be blank"}]
    other = await client.post("/v1/mobile/pair", json={
        "token": token, "deviceName": "x", "platform": "windows"})
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "platform"


async def test_three_pending_tokens_then_three_per_five_minutes(client, mailbox):
    web = await account(client, mailbox, "eve@example.com")
    tokens = [(await new_token(client, web))["token"] for _ in range(3)]
    assert (await new_token(client, web, 409))["type"] == "too_many_pending"
    await pair(client, tokens[0])  # two pending now: room for one more, but not this soon
    limited = await client.post("/v1/mobile/pair-token", headers=bearer(web["accessToken"]))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.json()["setting"] == "RATE_LIMIT_PAIR_TOKEN_PER_ACCOUNT"


async def test_five_devices_at_most_checked_again_when_pairing(roomy, mailbox):
    web = await account(roomy, mailbox, "fay@example.com")
    phones = [await pair(roomy, (await new_token(roomy, web))["token"], f"Phone {i}")
              for i in range(4)]
    late, later = (await new_token(roomy, web))["token"], (await new_token(roomy, web))["token"]
    phones.append(await pair(roomy, late, "Phone 4"))
    assert (await new_token(roomy, web, 409))["type"] == "too_many_devices"
    assert (await pair(roomy, later, "Phone 5", status=409))["type"] == "too_many_devices"

    first = (await current_session(roomy, phones[0]))["id"]
    gone = await roomy.delete(f"/v1/mobile/sessions/{first}", headers=bearer(web["accessToken"]))
    assert gone.status_code == 204
    assert [await works(roomy, p) for p in phones] == [False, True, True, True, True]
    await pair(roomy, later, "Phone 5")  # the refused pair did not use the token up


async def test_twenty_parallel_pairs_with_one_token_make_one_session(roomy, mailbox):
    web = await account(roomy, mailbox, "gil@example.com")
    token = (await new_token(roomy, web))["token"]
    answers = await asyncio.gather(*(roomy.post("/v1/mobile/pair", json={
        "token": token, "deviceName": f"Phone {i}", "platform": "ios"}) for i in range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 19
    assert {a.json()["type"] for a in answers if a.status_code == 400} == {"invalid_token"}
    assert await Session.count().where(Session.kind == "mobile") == 1
    assert len((await roomy.get("/v1/mobile", headers=bearer(web["accessToken"]))
                ).json()["sessions"]) == 1


async def test_unpair_one_device_or_all_of_them(roomy, mailbox):
    web = await account(roomy, mailbox, "hal@example.com")
    phones = [await pair(roomy, (await new_token(roomy, web))["token"], f"Phone {i}")
              for i in range(3)]
    other = await account(roomy, mailbox, "ivy@example.com")
    theirs = await pair(roomy, (await new_token(roomy, other))["token"])
    for target in ((await current_session(roomy, web))["id"],  # a web session
                   (await current_session(roomy, theirs))["id"], str(uuid.uuid4())):
        missing = await roomy.delete(f"/v1/mobile/sessions/{target}",
                                     headers=bearer(web["accessToken"]))
        assert missing.status_code == 404 and missing.json()["type"] == "not_found"
    one = (await current_session(roomy, phones[1]))["id"]
    assert (await roomy.delete(f"/v1/mobile/sessions/{one}", headers=bearer(
        phones[0]["accessToken"]))).status_code == 204
    assert [await works(roomy, p) for p in phones] == [True, False, True]

    everything = await roomy.post("/v1/mobile/sessions/revoke-all",
                                  headers=bearer(web["accessToken"]))
    assert everything.status_code == 200 and everything.json() == {"revoked": 2}
    assert [await works(roomy, p) for p in phones] == [False, False, False]
    assert await works(roomy, web) and await works(roomy, theirs)


async def test_a_token_dies_with_a_session_ended_for_cause_not_with_a_sign_out(client, mailbox):
    web = await account(client, mailbox, "jan@example.com")
    laptop = (await sign_in(client, "jan@example.com")).json()
    kept = (await new_token(client, laptop))["token"]
    assert (await client.post("/v1/auth/signout", json={"refreshToken": laptop["refreshToken"]})
            ).status_code == 204
    phone = await pair(client, kept)  # signed out plainly: the token still pairs
    claims = jwt.decode(phone["accessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd"]

    tablet = (await sign_in(client, "jan@example.com")).json()
    voided = (await new_token(client, tablet))["token"]
    tablet_id = (await current_session(client, tablet))["id"]
    ended = await client.delete(f"/v1/auth/sessions/{tablet_id}",
                                headers=bearer(web["accessToken"]))
    assert ended.status_code == 204  # its owner ended that session: its tokens pair nothing
    assert (await pair(client, voided, status=400))["type"] == "invalid_token"


async def test_a_password_change_voids_pending_pairing_tokens(client, mailbox):
    """A thief's token made before the owner changed the password (its session signed out,
    so ending sessions alone would not catch it) pairs nothing afterwards."""
    web = await account(client, mailbox, "kim@example.com")
    thief = (await sign_in(client, "kim@example.com")).json()
    stolen = (await new_token(client, thief))["token"]
    assert (await client.post("/v1/auth/signout", json={"refreshToken": thief["refreshToken"]})
            ).status_code == 204
    changed = await client.post("/v1/auth/password/change", headers=bearer(web["accessToken"]),
                                json={"currentPassword": PASSWORD,
                                      "newPassword": "a brand new horse battery"})
    assert changed.status_code == 200, changed.text
    assert (await pair(client, stolen, status=400))["type"] == "invalid_token"


async def test_cleanup_keeps_pairing_tokens_as_the_trail_then_deletes_them(
        client, mailbox, settings, clock):
    web = await account(client, mailbox, "kim@example.com")
    used = (await new_token(client, web))["token"]
    await pair(client, used)
    await new_token(client, web)  # never used

    async def pairing_rows() -> list[bool]:
        rows = await OneTimeToken.select(OneTimeToken.used_at).where(
            OneTimeToken.purpose == "pair_device").order_by(OneTimeToken.created_at)
        return [row["used_at"] is not None for row in rows]

    clock.advance(minutes=16)  # both expired: kept an hour more, the used one 30 days
    await delete_expired(settings, clock)
    assert await pairing_rows() == [True, False]
    clock.advance(minutes=60)
    await delete_expired(settings, clock)
    assert await pairing_rows() == [True]
    clock.advance(days=29)
    await delete_expired(settings, clock)
    assert await pairing_rows() == [True]
    clock.advance(days=1)
    counts = await delete_expired(settings, clock)
    assert await pairing_rows() == [] and counts["one_time_tokens"] >= 1


async def test_pairing_attempts_are_limited_per_ip(settings, clock):
    async with serving(settings.replace(rate_limit_pair="2/hour"), clock) as client:
        for _ in range(2):
            assert (await pair(client, "B" * 43, status=400))["type"] == "invalid_token"
        limited = await pair(client, "B" * 43, status=429)
        assert limited["setting"] == "RATE_LIMIT_PAIR"
