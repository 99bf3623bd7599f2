"""The active context end to end: POST /v1/auth/context carries ``ctx`` and ``orgRole``, the
session keeps it across refreshes (PostgreSQL's one-statement rotation and the general path
alike), the member's current role shows on the next refresh, removal and suspension end it,
403/400/429; every token carries a stable ``auth_time``; a sign-in records last_login_at —
on the real app, worker, database and Redis."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import jwt
import pytest

from db.repositories import memberships, organizations, sessions, users
from db.tables import AuditEvent, Membership, Session, User
from db.transaction import transaction
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from tests.support import PASSWORD, bearer, sign_in


@pytest.fixture
async def account(client, settings, clock):
    """``await account(email, personal=False)`` -> user id: a verified account written
    straight to the database, with a personal profile when asked."""
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()

    async def make(email: str, personal: bool = False) -> uuid.UUID:
        user = await users.insert(email=email, password_hash=password_hash, name=None,
                                  now=clock(), verified=True,
                                  personal_profile_id=uuid.uuid4() if personal else None)
        return user.id

    return make


async def organization(clock, *members: tuple[uuid.UUID, str]) -> uuid.UUID:
    """An organization with these (user id, role) members; returns its id."""
    async with transaction():
        org = await organizations.insert(name="Acme", legal_business_name=None, dba_name=None,
                                         contact_email="ops@acme.test", timezone="UTC",
                                         created_by=None, now=clock())
        for user_id, role in members:
            await memberships.add(organization_id=org.id, user_id=user_id, role=role,
                                  now=clock())
    return org.id


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def signed_in(client, email: str) -> dict:
    response = await sign_in(client, email)
    assert response.status_code == 200, response.text
    return response.json()


async def switch(client, pair: dict, context_type: str, context_id, status: int = 200) -> dict:
    response = await client.post("/v1/auth/context", headers=bearer(pair["accessToken"]),
                                 json={"contextType": context_type, "contextId": str(context_id)})
    assert response.status_code == status, response.text
    return response.json()


async def refreshed(client, refresh_token: str) -> dict:
    response = await client.post("/v1/auth/refresh", json={"refreshToken": refresh_token})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_switch_carries_ctx_and_org_role_and_every_refresh_keeps_it(
        client, account, clock):
    ann = await account("ann@example.com")
    org = await organization(clock, (ann, "admin"))
    pair = await signed_in(client, "ann@example.com")
    signed_in_at = claims(pair["accessToken"])["auth_time"]
    assert signed_in_at == int(clock().timestamp())
    assert "ctx" not in claims(pair["accessToken"])

    clock.advance(seconds=30)
    body = await switch(client, pair, "organization", org)
    assert set(body) == {"accessToken", "expiresIn", "tokenType"}
    assert (body["expiresIn"], body["tokenType"]) == (900, "Bearer")
    switched = claims(body["accessToken"])
    assert switched["ctx"] == {"type": "organization", "id": str(org)}
    assert switched["orgRole"] == "admin" and switched["auth_time"] == signed_in_at
    assert switched["sid"] == claims(pair["accessToken"])["sid"]
    assert (await client.get("/v1/auth/profile", headers=bearer(body["accessToken"]))
            ).status_code == 200
    row = await Session.select(Session.context_type, Session.context_id).first()
    assert row == {"context_type": "organization", "context_id": org}

    token = pair["refreshToken"]  # not rotated by the switch: still the current one
    for _ in range(3):  # PostgreSQL: the one-statement rotation; SQLite: the general path
        clock.advance(seconds=60)
        previous, pair = token, await refreshed(client, token)
        token = pair["refreshToken"]
        issued = claims(pair["accessToken"])
        assert issued["ctx"] == {"type": "organization", "id": str(org)}
        assert issued["orgRole"] == "admin" and issued["auth_time"] == signed_in_at
    # the rotated token again within the grace window: the general path on both databases
    again = await refreshed(client, previous)
    assert again["refreshToken"] == token
    assert claims(again["accessToken"])["ctx"]["id"] == str(org)
    assert claims(again["accessToken"])["orgRole"] == "admin"

    events = await AuditEvent.select(AuditEvent.metadata).where(
        AuditEvent.action == AuditAction.CONTEXT_SWITCHED)
    assert [json.loads(e["metadata"]) if isinstance(e["metadata"], str) else e["metadata"]
            for e in events] == [{"session_id": switched["sid"], "contextType": "organization",
                                   "contextId": str(org)}]


async def test_the_members_current_role_shows_on_the_next_refresh(client, account, clock):
    bea = await account("bea@example.com")
    org = await organization(clock, (bea, "owner"))
    pair = await signed_in(client, "bea@example.com")
    assert claims((await switch(client, pair, "organization", org))["accessToken"]
                  )["orgRole"] == "owner"
    await Membership.update({Membership.role: "member"}).where(Membership.user_id == bea)
    pair = await refreshed(client, pair["refreshToken"])  # fast path on PostgreSQL
    assert claims(pair["accessToken"])["orgRole"] == "member"
    await Membership.update({Membership.role: "admin"}).where(Membership.user_id == bea)
    pair = await refreshed(client, pair["refreshToken"])
    assert claims(pair["accessToken"])["orgRole"] == "admin"


async def test_removal_ends_the_context_on_the_next_refresh(client, account, clock):
    cy = await account("cy@example.com")
    org = await organization(clock, (cy, "member"))
    pair = await signed_in(client, "cy@example.com")
    await switch(client, pair, "organization", org)
    async with transaction():  # as the organization routes remove a member
        await memberships.remove(await memberships.get(org, cy))
        await sessions.clear_context(organization_id=org, user_id=cy)
    pair = await refreshed(client, pair["refreshToken"])
    assert "ctx" not in claims(pair["accessToken"])
    assert "orgRole" not in claims(pair["accessToken"])
    assert await Session.select(Session.context_type, Session.context_id).first() == {
        "context_type": None, "context_id": None}
    await switch(client, pair, "organization", org, status=403)  # and no way back in


async def test_suspension_ends_it_even_before_the_context_is_cleared(client, account, clock):
    dee = await account("dee@example.com")
    org = await organization(clock, (dee, "admin"))
    pair = await signed_in(client, "dee@example.com")
    await switch(client, pair, "organization", org)
    await Membership.update({Membership.status: "suspended"}).where(Membership.user_id == dee)
    first = await refreshed(client, pair["refreshToken"])  # fast path on PostgreSQL
    assert "ctx" not in claims(first["accessToken"])
    assert "orgRole" not in claims(first["accessToken"])
    replay = await refreshed(client, pair["refreshToken"])  # the general path, in the grace
    assert "ctx" not in claims(replay["accessToken"])
    assert (await Session.select(Session.context_id).first())["context_id"] == org  # kept
    denied = await switch(client, first, "organization", org, status=403)
    assert denied["type"] == "authorization_denied"


async def test_who_may_not_switch_where(client, account, clock):
    await account("eve@example.com", personal=True)
    fay = await account("fay@example.com", personal=True)
    await account("gus@example.com")  # no personal profile
    theirs = await organization(clock, (fay, "owner"))
    pair = await signed_in(client, "eve@example.com")
    for context_type, context_id in (
            ("organization", theirs),  # not a member
            ("organization", uuid.uuid4()),  # no such organization: 403 too (issue 13)
            ("personal", (await users.get_by_id(fay)).personal_profile_id),  # someone else's
            ("personal", uuid.uuid4()),
            ("personal", theirs)):
        body = await switch(client, pair, context_type, context_id, status=403)
        assert body["type"] == "authorization_denied"
    assert await Session.select(Session.context_type).first() == {"context_type": None}
    assert not await AuditEvent.exists().where(
        AuditEvent.action == AuditAction.CONTEXT_SWITCHED)

    gus = await signed_in(client, "gus@example.com")
    await switch(client, gus, "personal", uuid.uuid4(), status=403)


async def test_the_own_personal_profile_is_a_context_without_an_org_role(
        client, account, clock):
    hal = await account("hal@example.com", personal=True)
    org = await organization(clock, (hal, "member"))
    profile_id = (await users.get_by_id(hal)).personal_profile_id
    pair = await signed_in(client, "hal@example.com")
    await switch(client, pair, "organization", org)
    issued = claims((await switch(client, pair, "personal", profile_id))["accessToken"])
    assert issued["ctx"] == {"type": "personal", "id": str(profile_id)}
    assert "orgRole" not in issued
    for _ in range(2):
        pair = await refreshed(client, pair["refreshToken"])
        assert claims(pair["accessToken"])["ctx"] == {"type": "personal", "id": str(profile_id)}
        assert "orgRole" not in claims(pair["accessToken"])


async def test_bad_input_is_400_and_a_missing_token_401(client, account):
    await account("ivy@example.com")
    pair = await signed_in(client, "ivy@example.com")
    headers = bearer(pair["accessToken"])
    unknown = await client.post("/v1/auth/context", headers=headers,
                                json={"contextType": "team", "contextId": str(uuid.uuid4())})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"field": "contextType", "message": "must be one of organization, personal"}]
    for body in ({"contextType": "organization"}, {"contextType": "organization",
                                                    "contextId": "not-a-uuid"},
                 {"contextType": None, "contextId": str(uuid.uuid4())}, {}):
        response = await client.post("/v1/auth/context", headers=headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    anonymous = await client.post("/v1/auth/context", json={
        "contextType": "personal", "contextId": str(uuid.uuid4())})
    assert anonymous.status_code == 401


async def test_switches_are_rate_limited_per_ip(client, account, clock):
    jo = await account("jo@example.com")
    org = await organization(clock, (jo, "member"))
    pair = await signed_in(client, "jo@example.com")
    for _ in range(10):  # RATE_LIMIT_CONTEXT default: 10/minute
        await switch(client, pair, "organization", org)
    limited = await switch(client, pair, "organization", org, status=429)
    assert limited["type"] == "rate_limited"


async def test_auth_time_is_the_sign_in_and_last_login_is_recorded(client, account, clock):
    kim = await account("kim@example.com")
    created = clock()
    assert (await User.select(User.last_login_at).first())["last_login_at"] is None
    clock.advance(seconds=5)
    pair = await signed_in(client, "kim@example.com")
    signed_at = clock()
    row = await User.select(User.last_login_at, User.updated_at).where(User.id == kim).first()
    assert abs(row["last_login_at"] - signed_at) < timedelta(seconds=1)
    assert abs(row["updated_at"] - created) < timedelta(seconds=1)  # not a profile change
    for _ in range(3):
        clock.advance(minutes=10)
        pair = await refreshed(client, pair["refreshToken"])
        issued = claims(pair["accessToken"])
        assert issued["auth_time"] == int(signed_at.timestamp())
        assert issued["iat"] == int(clock().timestamp())
    clock.advance(minutes=1)
    await signed_in(client, "kim@example.com")
    row = await User.select(User.last_login_at).where(User.id == kim).first()
    assert abs(row["last_login_at"] - clock()) < timedelta(seconds=1)
