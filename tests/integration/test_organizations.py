"""Organizations, members and the organization's events feed (issue 13): create, list, read,
update and delete by role; 404 to outsiders; the last-owner rules, also under two parallel
demotions; suspension and removal ending access, teams and contexts at once; deletion
clearing contexts; the events feed; bad input; organization_count kept equal to the
membership rows — on the real app, worker, database and Redis."""

from __future__ import annotations

import asyncio
import uuid

from db.repositories import memberships, users
from db.tables import AuditEvent, Membership, Organization, Session, Team, TeamMembership, User
from db.transaction import transaction
from domain.names import AuditAction
from tests.support import bearer, register, sign_in

ORGS = "/v1/organizations"


async def create(client, headers, name="Acme Events", **fields) -> dict:
    response = await client.post(ORGS, headers=headers, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def join(clock, organization_id: str, user_id: uuid.UUID, role: str = "member") -> None:
    """A membership written straight to the database (invitations are tested elsewhere)."""
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


async def member(client, headers, organization_id, user_id, **body):
    return await client.patch(f"{ORGS}/{organization_id}/members/{user_id}", headers=headers,
                              json=body)


async def owners(organization_id: str) -> set[uuid.UUID]:
    rows = await Membership.select(Membership.user_id).where(
        (Membership.organization_id == uuid.UUID(organization_id))
        & (Membership.role == "owner") & (Membership.status == "active"))
    return {row["user_id"] for row in rows}


async def counts_match() -> None:
    """Every account's organization_count equals its membership rows."""
    for user in await User.select(User.id, User.organization_count):
        rows = await Membership.count().where(Membership.user_id == user["id"])
        assert user["organization_count"] == rows, user


async def contexts(user_id: uuid.UUID) -> list[tuple[str | None, uuid.UUID | None]]:
    rows = await Session.select(Session.context_type, Session.context_id).where(
        Session.user_id == user_id)
    return [(row["context_type"], row["context_id"]) for row in rows]


async def set_context(user_id: uuid.UUID, organization_id: str) -> None:
    await Session.update({Session.context_type: "organization",
                          Session.context_id: uuid.UUID(organization_id)}).where(
        Session.user_id == user_id)


async def test_create_list_read_update_delete_by_role(client, person, clock):
    ann_id, ann = await person("ann@example.com", "Ann")
    bob_id, bob = await person("bob@example.com", "Bob")
    _, eve = await person("eve@example.com", "Eve")

    made = await create(client, ann, legalBusinessName="Acme Events LLC")
    assert made["name"] == "Acme Events" and made["legalBusinessName"] == "Acme Events LLC"
    assert made["contactEmail"] == "ann@example.com" and made["timezone"] == "UTC"
    assert made["dbaName"] is None
    org = made["id"]
    mine = (await client.get(ORGS, headers=ann)).json()["items"]
    assert [(o["id"], o["role"], o["status"]) for o in mine] == [(org, "owner", "active")]
    assert (await client.get(ORGS, headers=bob)).json() == {"items": []}
    assert (await client.get(f"{ORGS}/{org}", headers=ann)).json() == made

    # outsiders: 404 whatever they ask, exactly as for an unknown or malformed id
    answers = [await client.get(f"{ORGS}/{org}", headers=eve),
               await client.get(f"{ORGS}/{uuid.uuid4()}", headers=eve),
               await client.get(f"{ORGS}/not-an-id", headers=eve),
               await client.patch(f"{ORGS}/{org}", headers=eve, json={"name": "Mine"}),
               await client.delete(f"{ORGS}/{org}", headers=eve),
               await client.get(f"{ORGS}/{org}/members", headers=eve),
               await client.get(f"{ORGS}/{org}/events", headers=eve),
               await member(client, eve, org, ann_id, role="member"),
               await client.delete(f"{ORGS}/{org}/members/{ann_id}", headers=eve)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.json()["detail"] for a in answers}) == 1

    # a member reads; only owners and admins change; only owners delete
    await join(clock, org, bob_id)
    assert (await client.get(f"{ORGS}/{org}", headers=bob)).status_code == 200
    listed = (await client.get(ORGS, headers=bob)).json()["items"]
    assert [(o["name"], o["role"]) for o in listed] == [("Acme Events", "member")]
    for refused in (await client.patch(f"{ORGS}/{org}", headers=bob, json={"name": "B"}),
                    await client.delete(f"{ORGS}/{org}", headers=bob),
                    await client.get(f"{ORGS}/{org}/events", headers=bob),
                    await member(client, bob, org, ann_id, role="member")):
        assert refused.status_code == 403 and refused.json()["type"] == "forbidden"
    promoted = await member(client, ann, org, bob_id, role="admin")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin" and promoted.json()["email"] == "bob@example.com"
    changed = await client.patch(f"{ORGS}/{org}", headers=bob, json={
        "name": " Acme ", "timezone": "Europe/Berlin", "dbaName": "Acme Live",
        "contactEmail": "ops@ACME.example"})
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"createdAt": None} == made | {
        "name": "Acme", "timezone": "Europe/Berlin", "dbaName": "Acme Live",
        "contactEmail": "ops@acme.example", "createdAt": None}
    cleared = await client.patch(f"{ORGS}/{org}", headers=bob, json={"legalBusinessName": None})
    assert cleared.json()["legalBusinessName"] is None and cleared.json()["name"] == "Acme"
    refused = await client.delete(f"{ORGS}/{org}", headers=bob)
    assert refused.status_code == 403

    assert (await client.delete(f"{ORGS}/{org}", headers=ann)).status_code == 204
    for who in (ann, bob):
        assert (await client.get(f"{ORGS}/{org}", headers=who)).status_code == 404
        assert (await client.get(ORGS, headers=who)).json() == {"items": []}
    assert not await Organization.exists().where(Organization.id == uuid.UUID(org))
    await counts_match()
    deleted = await AuditEvent.select().where(
        AuditEvent.action == AuditAction.ORGANIZATION_DELETED.value)
    assert len(deleted) == 1 and deleted[0]["actor_id"] == ann_id
    assert deleted[0]["organization_id"] == uuid.UUID(org)


async def test_an_unverified_account_cannot_create_one(client):
    assert (await register(client, "new@example.com")).status_code == 201
    # sign-in refuses unverified accounts: sign in verified, then lose the verification
    unverified = User.email == "new@example.com"
    await User.update({User.email_verified_at: User.created_at}).where(unverified)
    pair = (await sign_in(client, "new@example.com")).json()
    await User.update({User.email_verified_at: None}).where(unverified)
    refused = await client.post(ORGS, headers=bearer(pair["accessToken"]), json={"name": "X"})
    assert refused.status_code == 403 and refused.json()["type"] == "email_not_verified"
    assert await Organization.count() == 0


async def test_the_last_active_owner_stays(client, person, clock):
    ann_id, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = (await create(client, ann))["id"]
    await join(clock, org, bob_id, "admin")

    for refused in (await member(client, ann, org, ann_id, role="admin"),
                    await client.delete(f"{ORGS}/{org}/members/{ann_id}", headers=ann)):
        assert refused.status_code == 409 and refused.json()["type"] == "last_owner"
    selfish = await member(client, ann, org, ann_id, status="suspended")
    assert selfish.status_code == 400 and selfish.json()["errors"][0]["field"] == "status"
    # an admin neither touches an owner nor makes one
    for refused in (await member(client, bob, org, ann_id, role="member"),
                    await member(client, bob, org, ann_id, status="suspended"),
                    await member(client, bob, org, bob_id, role="owner"),
                    await client.delete(f"{ORGS}/{org}/members/{ann_id}", headers=bob)):
        assert refused.status_code == 403
    assert await owners(org) == {ann_id}

    assert (await member(client, ann, org, bob_id, role="owner")).json()["role"] == "owner"
    # a suspended owner does not count as the owner that stays
    assert (await member(client, ann, org, bob_id, status="suspended")).status_code == 200
    assert (await member(client, ann, org, ann_id, role="member")).status_code == 409
    assert (await member(client, ann, org, bob_id, status="active")).status_code == 200
    left = await client.delete(f"{ORGS}/{org}/members/{ann_id}", headers=ann)
    assert left.status_code == 204  # another owner stays: leaving is fine
    assert (await client.get(f"{ORGS}/{org}", headers=ann)).status_code == 404
    assert (await client.delete(f"{ORGS}/{org}/members/{bob_id}", headers=bob)).status_code == 409
    assert await owners(org) == {bob_id}
    await counts_match()


async def test_two_owners_demoting_each_other_at_once_leave_one(client, person, clock):
    for n in range(3):
        ann_id, ann = await person(f"ann{n}@example.com")
        bob_id, bob = await person(f"bob{n}@example.com")
        org = (await create(client, ann))["id"]
        await join(clock, org, bob_id, "owner")
        answers = await asyncio.gather(member(client, ann, org, bob_id, role="member"),
                                       member(client, bob, org, ann_id, role="member"))
        # the second sees the first: it is no longer an owner, or not even a manager
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([200, 403], [200, 409]), [a.text for a in answers]
        assert len(await owners(org)) == 1

        # the owner that stayed makes the other an owner again; then both leave at once
        headers, demoted = (ann, bob_id) if await owners(org) == {ann_id} else (bob, ann_id)
        assert (await member(client, headers, org, demoted, role="owner")).status_code == 200
        assert await owners(org) == {ann_id, bob_id}
        answers = await asyncio.gather(
            client.delete(f"{ORGS}/{org}/members/{ann_id}", headers=ann),
            client.delete(f"{ORGS}/{org}/members/{bob_id}", headers=bob))
        assert sorted(a.status_code for a in answers) == [204, 409], [a.text for a in answers]
        assert len(await owners(org)) == 1
        await counts_match()


async def test_suspension_and_removal_end_access_teams_and_context_at_once(client, person,
                                                                           clock):
    _, ann = await person("ann@example.com")
    cat_id, cat = await person("cat@example.com", "Cat")
    org = (await create(client, ann))["id"]
    other = (await create(client, cat, "Cat's own"))["id"]
    await join(clock, org, cat_id)
    team_id = uuid.uuid4()
    await Team.insert(Team(id=team_id, organization_id=uuid.UUID(org), name="On call"))
    await TeamMembership.insert(TeamMembership(id=uuid.uuid4(), team_id=team_id,
                                               user_id=cat_id, role="member"))
    await set_context(cat_id, org)

    suspended = await member(client, ann, org, cat_id, status="suspended")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    for path in ("", "/members"):
        refused = await client.get(f"{ORGS}/{org}{path}", headers=cat)
        assert refused.status_code == 403 and refused.json()["type"] == "authorization_denied"
    assert await contexts(cat_id) == [(None, None)]
    assert not await TeamMembership.exists().where(TeamMembership.user_id == cat_id)
    listed = {o["id"]: o["status"] for o in (await client.get(ORGS, headers=cat)).json()["items"]}
    assert listed == {org: "suspended", other: "active"}  # their own organization is untouched

    reactivated = await member(client, ann, org, cat_id, status="active")
    assert reactivated.json()["status"] == "active"
    assert (await client.get(f"{ORGS}/{org}", headers=cat)).status_code == 200

    await set_context(cat_id, org)
    await TeamMembership.insert(TeamMembership(id=uuid.uuid4(), team_id=team_id,
                                               user_id=cat_id, role="lead"))
    assert (await client.delete(f"{ORGS}/{org}/members/{cat_id}",
                                headers=ann)).status_code == 204
    assert (await client.get(f"{ORGS}/{org}", headers=cat)).status_code == 404
    assert await contexts(cat_id) == [(None, None)]
    assert not await TeamMembership.exists().where(TeamMembership.user_id == cat_id)
    assert (await User.select(User.organization_count).where(User.id == cat_id).first()
            ) == {"organization_count": 1}
    await counts_match()
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.user_id == cat_id) & (AuditEvent.organization_id == uuid.UUID(org))
    ).order_by(AuditEvent.created_at)]
    assert actions == ["organization.member.suspended", "organization.member.reactivated",
                       "organization.member.removed"]


async def test_deletion_clears_every_members_context_on_it(client, person, clock):
    ann_id, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = (await create(client, ann))["id"]
    kept = (await create(client, bob, "Bob's"))["id"]
    await join(clock, org, bob_id)
    await join(clock, kept, ann_id)
    await set_context(ann_id, org)
    await set_context(bob_id, org)
    ann2, _ = await person("ann2@example.com")  # a session with another context stays
    await Session.update({Session.context_type: "organization",
                          Session.context_id: uuid.UUID(kept)}).where(Session.user_id == ann2)

    assert (await client.delete(f"{ORGS}/{org}", headers=ann)).status_code == 204
    assert await contexts(ann_id) == await contexts(bob_id) == [(None, None)]
    assert await contexts(ann2) == [("organization", uuid.UUID(kept))]
    assert await Membership.count().where(Membership.organization_id == uuid.UUID(org)) == 0
    await counts_match()
    assert (await client.get(f"{ORGS}/{kept}", headers=bob)).status_code == 200


async def test_members_list_and_the_events_feed_paginate(client, person, clock):
    ann_id, ann = await person("ann@example.com", "Ann")
    org = (await create(client, ann))["id"]
    ids = [ann_id]
    for n in range(4):
        clock.advance(seconds=1 if n % 2 else 0)  # some join at the same instant
        user = await users.insert(email=f"m{n}@example.com", password_hash="!", name=f"M{n}",
                                  now=clock(), verified=True)
        await join(clock, org, user.id)
        ids.append(user.id)

    seen, cursor = [], None
    while True:
        page = await client.get(f"{ORGS}/{org}/members", headers=ann,
                                params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    # everyone once, in the order they joined (ties, split across pages, by membership id)
    assert sorted(uuid.UUID(m["userId"]) for m in seen) == sorted(ids) and len(seen) == 5
    assert [m["joinedAt"] for m in seen] == sorted(m["joinedAt"] for m in seen)
    seen.sort(key=lambda m: m["userId"] != str(ann_id))
    assert seen[0] == {"userId": str(ann_id), "email": "ann@example.com", "name": "Ann",
                       "role": "owner", "status": "active", "joinedAt": seen[0]["joinedAt"]}

    clock.advance(seconds=1)
    await member(client, ann, org, ids[1], role="admin")
    clock.advance(seconds=1)
    await member(client, ann, org, ids[2], status="suspended")
    clock.advance(seconds=1)
    await client.delete(f"{ORGS}/{org}/members/{ids[3]}", headers=ann)
    clock.advance(seconds=1)
    await client.patch(f"{ORGS}/{org}", headers=ann, json={"timezone": "Asia/Tokyo"})

    events, cursor = [], None
    while True:
        page = await client.get(f"{ORGS}/{org}/events", headers=ann,
                                params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        events += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert [e["action"] for e in events[:4]] == [
        "organization.updated", "organization.member.removed",
        "organization.member.suspended", "organization.member.role_changed"]
    assert {e["action"] for e in events[-2:]} == {  # one transaction: one instant
        "organization.member.added", "organization.created"}
    assert len({e["id"] for e in events}) == len(events) == 6
    role_changed = events[3]
    assert role_changed["actorId"] == str(ann_id) and role_changed["userId"] == str(ids[1])
    assert role_changed["metadata"] == {"role": "admin", "previous": "member"}
    assert events[1]["metadata"]["reason"] == "removed" and events[1]["userId"] == str(ids[3])
    assert events[0]["metadata"] == {"fields": ["timezone"]}

    # an admin reads it too; the feed of another organization is not mixed in
    admin_pair = (await sign_in(client, "ann@example.com")).json()
    other = (await create(client, bearer(admin_pair["accessToken"]), "Other"))["id"]
    again = (await client.get(f"{ORGS}/{org}/events", headers=ann,
                              params={"limit": 100})).json()["items"]
    assert len(again) == 6 and other not in str(again)


async def test_bad_input_is_a_4xx_naming_the_field(client, person, clock):
    _, ann = await person("ann@example.com")
    bob_id, _ = await person("bob@example.com")
    org = (await create(client, ann))["id"]
    await join(clock, org, bob_id)

    cases = [
        (await client.post(ORGS, headers=ann, json={"name": "X", "timezone": "Mars/Olympus"}),
         "timezone"),
        (await client.post(ORGS, headers=ann, json={"name": "   "}), "name"),
        (await client.post(ORGS, headers=ann, json={"name": "X", "contactEmail": "nope"}),
         "contactEmail"),
        (await client.patch(f"{ORGS}/{org}", headers=ann, json={"timezone": "Not/AZone"}),
         "timezone"),
        (await client.patch(f"{ORGS}/{org}", headers=ann, json={"name": None}), "name"),
        (await member(client, ann, org, bob_id, role="boss"), "role"),
        (await member(client, ann, org, bob_id, status="banned"), "status"),
        (await member(client, ann, org, bob_id), "body"),
        (await client.get(f"{ORGS}/{org}/members", headers=ann, params={"cursor": "zz"}),
         "cursor"),
        (await client.get(f"{ORGS}/{org}/events", headers=ann, params={"limit": 0}), "limit"),
    ]
    for response, field in cases:
        assert response.status_code == 400, (field, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, response.text
    named = {e["message"] for case in cases[5:7] for e in case[0].json()["errors"]}
    assert all(value in str(named) for value in ("owner", "admin", "member", "active",
                                                 "suspended")), named
    assert (await member(client, ann, org, "not-a-user", role="admin")).status_code == 404
    assert (await member(client, ann, org, uuid.uuid4(), role="admin")).status_code == 404
    unknown = await client.delete(f"{ORGS}/{org}/members/{uuid.uuid4()}", headers=ann)
    assert unknown.status_code == 404
    assert await Organization.count() == 1  # nothing half-made
    assert (await client.get(f"{ORGS}/{org}", headers=ann)).json()["timezone"] == "UTC"
    await counts_match()
