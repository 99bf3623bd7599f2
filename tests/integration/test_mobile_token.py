"""POST /v1/mobile/token end to end: a 90-day mobile session straight from a recent sign-in
(``auth_time``, injected clock), the switch, the shared device cap, the context it inherits,
the audit event and the alert mail — on the real app, worker, database and Redis."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import jwt
import pytest

from db.repositories import memberships, organizations, users
from db.tables import AuditEvent, Session
from db.transaction import transaction
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from domain.tokens import AccessTokenCodec
from tests.support import PASSWORD, bearer, sign_in, wait_mail

NEW_SIGN_IN = "New sign-in to your account"


@pytest.fixture
async def account(client, settings, clock):
    """``await account(email, enabled=True)`` -> (user id, signed-in TokenPair): a verified
    account written straight to the database, signed in on the web, mobile access on."""
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()

    async def make(email: str, enabled: bool = True) -> tuple[uuid.UUID, dict]:
        user = await users.insert(email=email, password_hash=password_hash, name="Ann",
                                  now=clock(), verified=True)
        pair = (await sign_in(client, email)).json()
        if enabled:
            response = await client.post("/v1/mobile/enable", headers=bearer(pair["accessToken"]))
            assert response.status_code == 200, response.text
        return user.id, pair

    return make


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def mobile_token(client, pair: dict, status: int = 201, **body) -> dict:
    response = await client.post("/v1/mobile/token", headers=bearer(pair["accessToken"]),
                                 json=body or None)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_fresh_sign_in_gets_a_90_day_mobile_session(client, account, mailbox, clock):
    user_id, web = await account("ann@example.com")
    clock.advance(seconds=599)  # the sign-in is 9:59 old: still recent enough
    phone = await mobile_token(client, web, deviceName="Ann's Pixel", platform="android")
    assert phone["tokenType"] == "Bearer" and phone["user"]["email"] == "ann@example.com"
    assert phone["refreshToken"] and phone["expiresIn"] == 900
    issued = claims(phone["accessToken"])
    assert issued["sid"] != claims(web["accessToken"])["sid"]
    assert issued["amr"] == ["pwd"]  # as strong as the sign-in that asked for it
    # the sign-in it came from, not its own creation: chaining cannot renew a recent sign-in
    assert issued["auth_time"] == claims(web["accessToken"])["auth_time"]

    row = await Session.select().where(Session.id == uuid.UUID(issued["sid"])).first()
    assert (row["kind"], row["device_name"], row["platform"]) == (
        "mobile", "Ann's Pixel", "android")
    assert abs(row["expires_at"] - (clock() + timedelta(days=90))) < timedelta(seconds=1)
    listed = (await client.get("/v1/mobile", headers=bearer(web["accessToken"]))).json()
    assert [s["deviceName"] for s in listed["sessions"]] == ["Ann's Pixel"]

    clock.advance(days=30)  # refreshes rotate; the 90 days do not slide
    rotated = await client.post("/v1/auth/refresh", json={"refreshToken": phone["refreshToken"]})
    assert rotated.status_code == 200
    assert claims(rotated.json()["accessToken"])["auth_time"] == issued["auth_time"]
    row = await Session.select(Session.expires_at).where(
        Session.id == uuid.UUID(issued["sid"])).first()
    assert abs(row["expires_at"] - (clock() + timedelta(days=60))) < timedelta(seconds=1)

    events = await AuditEvent.select(AuditEvent.action).where(AuditEvent.user_id == user_id)
    assert AuditAction.MOBILE_TOKEN_ISSUED in {e["action"] for e in events}
    alert = (await wait_mail(mailbox, "ann@example.com", subject=NEW_SIGN_IN))[0]
    assert "Ann's Pixel" in alert.text


async def test_a_stale_sign_in_must_sign_in_again(client, account, clock, settings):
    _, web = await account("bea@example.com")
    clock.advance(seconds=601)  # the access token still has 5 minutes, the sign-in is old
    assert (await client.get("/v1/auth/profile", headers=bearer(web["accessToken"]))
            ).status_code == 200
    refused = await mobile_token(client, web, status=401)
    assert refused["type"] == "reauthentication_required"
    refreshed = (await client.post("/v1/auth/refresh",
                                   json={"refreshToken": web["refreshToken"]})).json()
    refused = await mobile_token(client, refreshed, status=401)  # a refresh is no sign-in
    assert refused["type"] == "reauthentication_required"
    assert await Session.count().where(Session.kind == "mobile") == 0
    assert not await AuditEvent.exists().where(
        AuditEvent.action == AuditAction.MOBILE_TOKEN_ISSUED)

    again = (await sign_in(client, "bea@example.com")).json()
    await mobile_token(client, again)


async def test_a_token_without_auth_time_is_stale(client, account, clock, settings):
    user_id, web = await account("cy@example.com")
    codec = AccessTokenCodec(secret=settings.jwt_secret, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience, ttl=900)
    old_style = codec.issue(user_id=user_id, session_id=uuid.UUID(
        claims(web["accessToken"])["sid"]), now=clock())  # as issued before auth_time
    assert "auth_time" not in claims(old_style)
    refused = await mobile_token(client, {"accessToken": old_style}, status=401)
    assert refused["type"] == "reauthentication_required"


async def test_mobile_access_must_be_on(client, account):
    _, web = await account("dee@example.com", enabled=False)
    refused = await mobile_token(client, web, status=409)
    assert refused["type"] == "mobile_disabled"
    assert await Session.count().where(Session.kind == "mobile") == 0


async def test_tokens_count_toward_the_five_devices(client, account):
    _, web = await account("eve@example.com")
    for n in range(5):
        await mobile_token(client, web, deviceName=f"Phone {n}", platform="ios")
    refused = await mobile_token(client, web, status=409)
    assert refused["type"] == "too_many_devices"
    pairing = await client.post("/v1/mobile/pair-token", headers=bearer(web["accessToken"]))
    assert pairing.status_code == 409 and pairing.json()["type"] == "too_many_devices"
    listed = (await client.get("/v1/mobile", headers=bearer(web["accessToken"]))).json()
    one = listed["sessions"][0]["id"]
    assert (await client.delete(f"/v1/mobile/sessions/{one}",
                                headers=bearer(web["accessToken"]))).status_code == 204
    await mobile_token(client, web)  # a freed place can be taken again


async def test_the_new_session_starts_in_the_callers_context(client, account, clock):
    user_id, web = await account("fay@example.com")
    async with transaction():
        org = await organizations.insert(name="Acme", legal_business_name=None, dba_name=None,
                                         contact_email="ops@acme.test", timezone="UTC",
                                         created_by=None, now=clock())
        await memberships.add(organization_id=org.id, user_id=user_id, role="admin",
                              now=clock())
    switched = await client.post("/v1/auth/context", headers=bearer(web["accessToken"]), json={
        "contextType": "organization", "contextId": str(org.id)})
    assert switched.status_code == 200
    phone = await mobile_token(client, web)  # the web token without ctx: the session has it
    assert claims(phone["accessToken"])["ctx"] == {"type": "organization", "id": str(org.id)}
    assert claims(phone["accessToken"])["orgRole"] == "admin"
    rotated = (await client.post("/v1/auth/refresh",
                                 json={"refreshToken": phone["refreshToken"]})).json()
    assert claims(rotated["accessToken"])["orgRole"] == "admin"


async def test_defaults_and_bad_input(client, account):
    _, web = await account("gus@example.com")
    bad = await mobile_token(client, web, status=400, platform="windows")
    assert bad["errors"] == [{"field": "platform", "message": "must be one of android, ios"}]
    blank = await mobile_token(client, web, status=400, deviceName="")
    assert blank["errors"][0]["field"] == "deviceName"
    anonymous = await client.post("/v1/mobile/token")
    assert anonymous.status_code == 401

    phone = await mobile_token(client, web)  # no body: named after the user agent
    row = await Session.select(Session.device_name, Session.platform, Session.created_at).where(
        Session.id == uuid.UUID(claims(phone["accessToken"])["sid"])).first()
    assert row["device_name"] and row["platform"]
    assert isinstance(row["created_at"], datetime)
