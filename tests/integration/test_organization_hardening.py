"""Review fixes of issue 13, each a behaviour a client could have used against us: a mobile
session minted from another cannot renew the "recent sign-in" (its auth_time is inherited);
two owners deleting their accounts at once leave one owner; organizations and invitations per
account are limited; an erased account's address leaves invitations and their events; an
organization's owner does not see their actions' network data in a member's security feed;
a suspended member may leave but not come back through an old invitation."""

from __future__ import annotations

import asyncio
import uuid

from db.tables import AuditEvent, Invitation, Membership, OutboxMessage
from tests.integration.test_mobile_token import account, mobile_token  # noqa: F401  (fixture)
from tests.integration.test_organizations import create, join
from tests.support import PASSWORD, bearer, serving, sign_in

ORGS = "/v1/organizations"


async def test_a_mobile_session_cannot_renew_the_recent_sign_in(client, account,  # noqa: F811
                                                                  clock):
    _, web = await account("ann@example.com")
    clock.advance(seconds=500)
    first = await mobile_token(client, web)  # 500 s after signing in: allowed
    clock.advance(seconds=200)  # 700 s after the sign-in, 200 s after the mobile session
    refused = await mobile_token(client, first, status=401)
    assert refused["type"] == "reauthentication_required"
    rotated = (await client.post("/v1/auth/refresh",
                                 json={"refreshToken": first["refreshToken"]})).json()
    assert (await mobile_token(client, rotated, status=401))["type"] == (
        "reauthentication_required")


async def test_two_owners_deleting_their_accounts_at_once_leave_one(client, person,
                                                                      clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = await create(client, ann)
    await join(clock, org["id"], bob_id, role="owner")
    answers = await asyncio.gather(*(
        client.request("DELETE", "/v1/users/me", headers=h, json={"password": PASSWORD})
        for h in (ann, bob)))
    assert sorted(a.status_code for a in answers) == [204, 409]
    owners = await Membership.select(Membership.user_id).where(
        (Membership.organization_id == uuid.UUID(org["id"])) & (Membership.role == "owner"))
    assert len(owners) == 1


async def test_organizations_and_invitations_per_account_are_limited(settings, clock):
    from db.repositories import users
    from domain.passwords.hashing import PasswordHasher

    limited = settings.replace(rate_limit_organization_per_account="2/day",
                               rate_limit_invitation_per_account="2/hour")
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    await users.insert(email="ann@example.com", password_hash=await hasher.hash(PASSWORD),
                       name="Ann", now=clock(), verified=True)
    hasher.close()
    async with serving(limited, clock) as client:
        ann = bearer((await sign_in(client, "ann@example.com")).json()["accessToken"])
        one, two = await create(client, ann, "One"), await create(client, ann, "Two")
        third = await client.post(ORGS, headers=ann, json={"name": "Three"})
        assert third.status_code == 429 and third.json()["type"] == "rate_limited"
        for org, address in ((one, "a@example.com"), (two, "b@example.com")):
            sent = await client.post(f"{ORGS}/{org['id']}/invitations", headers=ann,
                                     json={"email": address, "role": "member"})
            assert sent.status_code == 201, sent.text
        # another organization of hers, still under its own limit: the person's limit holds
        over = await client.post(f"{ORGS}/{one['id']}/invitations", headers=ann,
                                 json={"email": "c@example.com", "role": "member"})
        assert over.status_code == 429


async def test_an_erased_account_leaves_no_address_in_invitations(client, person,
                                                                  clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    # invited in another letter case than the account's address
    org = await create(client, ann)
    sent = await client.post(f"{ORGS}/{org['id']}/invitations", headers=ann,
                             json={"email": "Bob@Example.com", "role": "member"})
    assert sent.status_code == 201, sent.text
    gone = await client.request("DELETE", "/v1/users/me", headers=bob,
                                json={"password": PASSWORD})
    assert gone.status_code == 204
    rows = await Invitation.select(Invitation.email, Invitation.email_lower)
    assert rows and all("bob" not in (r["email"] + r["email_lower"]).lower() for r in rows)
    assert not await OutboxMessage.exists().where(OutboxMessage.recipient == "Bob@Example.com")
    assert not await OutboxMessage.exists().where(OutboxMessage.recipient.ilike("%bob%"))
    events = await AuditEvent.select(AuditEvent.metadata).where(
        AuditEvent.action == "organization.invitation.sent")
    assert events and all("bob" not in str(e["metadata"]).lower() for e in events)
    assert bob_id  # the account row is a tombstone now (tested in test_users_admin)


async def test_a_members_feed_shows_no_network_data_of_the_owner(client, person,
                                                                 clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = await create(client, ann)
    await join(clock, org["id"], bob_id)
    suspended = await client.patch(f"{ORGS}/{org['id']}/members/{bob_id}",
                                   headers={**ann, "user-agent": "Ann's browser"},
                                   json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    feed = (await client.get("/v1/auth/security-events", headers=bob)).json()["items"]
    [event] = [e for e in feed if e["action"] == "organization.member.suspended"]
    assert event["ipAddress"] is None and event["userAgent"] is None
    # the organization's own trail keeps who did it, from where
    trail = (await client.get(f"{ORGS}/{org['id']}/events", headers=ann)).json()["items"]
    assert any(e["action"] == "organization.member.suspended" and e["userAgent"]
               for e in trail)


async def test_a_suspended_member_may_leave(client, person, clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = await create(client, ann)
    await join(clock, org["id"], bob_id)
    await client.patch(f"{ORGS}/{org['id']}/members/{bob_id}", headers=ann,
                       json={"status": "suspended"})
    left = await client.delete(f"{ORGS}/{org['id']}/members/{bob_id}", headers=bob)
    assert left.status_code == 204, left.text
    assert not await Membership.exists().where(Membership.user_id == bob_id)
    # an outsider gets the same 404 for a member and for a stranger
    _, eve = await person("eve@example.com")
    ann_member = await client.delete(f"{ORGS}/{org['id']}/members/{uuid.uuid4()}", headers=eve)
    stranger = await client.delete(f"{ORGS}/{org['id']}/members/{bob_id}", headers=eve)
    assert ann_member.status_code == stranger.status_code == 404
    assert ann_member.json() == stranger.json()
