"""Teams of an organization (issue 13, OnCall): create, list, read, update and deactivate by
role; members with a team role, only active members of the organization; ids of another
organization's teams are 404; every change audited with actor, organization and target; bad
input is a 4xx — on the real app, worker, database and Redis."""

from __future__ import annotations

import json
import uuid

from db.repositories import memberships
from db.tables import AuditEvent, Membership, TeamMembership
from db.transaction import transaction
from domain.names import AuditAction

ORGS = "/v1/organizations"


async def organization(client, headers, name="Acme Events") -> str:
    response = await client.post(ORGS, headers=headers, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def join(clock, organization_id: str, user_id: uuid.UUID, role: str = "member") -> None:
    """A membership written straight to the database (invitations are tested elsewhere)."""
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


async def team(client, headers, organization_id, name="Primary on-call", **fields) -> dict:
    response = await client.post(f"{ORGS}/{organization_id}/teams", headers=headers,
                                 json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def audited(action: AuditAction) -> list[dict]:
    """The events of ``action``, metadata decoded (a JSON column reads back as text)."""
    rows = await AuditEvent.select().where(AuditEvent.action == action.value)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows


async def test_teams_are_created_changed_and_deactivated_by_owners_and_admins(
        client, person, clock):
    owner_id, owner = await person("owner@example.com", "Olive")
    admin_id, admin = await person("admin@example.com", "Adam")
    member_id, member = await person("member@example.com", "Mia")
    _, outsider = await person("out@example.com")
    org = await organization(client, owner)
    await join(clock, org, admin_id, "admin")
    await join(clock, org, member_id)
    teams_url = f"{ORGS}/{org}/teams"

    created = await team(client, owner, org, "  Primary on-call ", description="Pages")
    assert created["name"] == "Primary on-call" and created["description"] == "Pages"
    assert created["organizationId"] == org and created["isActive"] is True
    assert set(created) == {"id", "organizationId", "name", "description", "isActive",
                            "createdAt"}
    backup = await team(client, admin, org, "backup")
    refused = await client.post(teams_url, headers=member, json={"name": "Mine"})
    assert refused.status_code == 403 and refused.json()["type"] == "forbidden"
    assert (await client.post(teams_url, headers=outsider, json={"name": "x"})).status_code \
        == 404
    [event] = [e for e in await audited(AuditAction.TEAM_CREATED)
               if e["metadata"]["teamId"] == created["id"]]
    assert event["actor_id"] == owner_id and event["organization_id"] == uuid.UUID(org)

    listed = await client.get(teams_url, headers=member)
    assert [t["name"] for t in listed.json()["items"]] == ["backup", "Primary on-call"]
    one = await client.get(f"{teams_url}/{created['id']}", headers=member)
    assert one.status_code == 200 and one.json() == created
    assert (await client.get(teams_url, headers=outsider)).status_code == 404
    assert (await client.get(f"{teams_url}/{created['id']}", headers=outsider)).status_code \
        == 404

    renamed = await client.patch(f"{teams_url}/{created['id']}", headers=admin,
                                 json={"name": "Primary", "description": None})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Primary" and renamed.json()["description"] is None
    [updated] = await audited(AuditAction.TEAM_UPDATED)
    assert updated["actor_id"] == admin_id
    assert updated["metadata"]["fields"] == ["description", "name"]
    assert (await client.patch(f"{teams_url}/{created['id']}", headers=member,
                               json={"name": "Nope"})).status_code == 403

    off = await client.patch(f"{teams_url}/{backup['id']}", headers=owner,
                             json={"isActive": False})
    assert off.status_code == 200 and off.json()["isActive"] is False
    [deactivated] = await audited(AuditAction.TEAM_DEACTIVATED)
    assert deactivated["organization_id"] == uuid.UUID(org)
    assert [t["name"] for t in (await client.get(teams_url, headers=member)).json()["items"]] \
        == ["Primary"]
    everything = await client.get(teams_url, headers=owner, params={"includeInactive": "true"})
    assert [t["name"] for t in everything.json()["items"]] == ["backup", "Primary"]
    assert (await client.get(teams_url, headers=member,
                             params={"includeInactive": "true"})).status_code == 403
    hidden = await client.get(f"{teams_url}/{backup['id']}", headers=member)
    assert hidden.status_code == 404  # an inactive team is for owners and admins only
    assert (await client.get(f"{teams_url}/{backup['id']}", headers=admin)).status_code == 200
    on = await client.patch(f"{teams_url}/{backup['id']}", headers=owner,
                            json={"isActive": True})
    assert on.json()["isActive"] is True
    assert len(await audited(AuditAction.TEAM_UPDATED)) == 2
    same = await client.patch(f"{teams_url}/{backup['id']}", headers=owner,
                              json={"isActive": True})
    assert same.status_code == 200 and len(await audited(AuditAction.TEAM_UPDATED)) == 2


async def test_only_active_members_of_the_organization_join_a_team(client, person, clock):
    owner_id, owner = await person("owner@example.com")
    ann_id, ann = await person("ann@example.com", "Ann")
    bob_id, bob = await person("bob@example.com", "Bob")
    sus_id, _ = await person("sus@example.com")
    out_id, _ = await person("out@example.com")
    org = await organization(client, owner)
    for user_id in (ann_id, bob_id, sus_id):
        await join(clock, org, user_id)
    await Membership.update({Membership.status: "suspended"}).where(Membership.user_id == sus_id)
    primary = await team(client, owner, org)
    members_url = f"{ORGS}/{org}/teams/{primary['id']}/members"

    added = await client.post(members_url, headers=owner,
                              json={"userId": str(ann_id), "role": "lead"})
    assert added.status_code == 201, added.text
    assert added.json()["userId"] == str(ann_id) and added.json()["role"] == "lead"
    assert added.json()["email"] == "ann@example.com" and added.json()["name"] == "Ann"
    clock.advance(seconds=1)  # listed in the order they joined
    default = await client.post(members_url, headers=owner, json={"userId": str(bob_id)})
    assert default.json()["role"] == "member"
    [event] = [e for e in await audited(AuditAction.TEAM_MEMBER_ADDED) if e["user_id"] == ann_id]
    assert event["actor_id"] == owner_id and event["organization_id"] == uuid.UUID(org)
    assert event["metadata"] == {"teamId": primary["id"], "role": "lead"}

    for user_id in (out_id, sus_id, uuid.uuid4()):
        refused = await client.post(members_url, headers=owner, json={"userId": str(user_id)})
        assert refused.status_code == 409 and refused.json()["type"] == "not_an_active_member"
    again = await client.post(members_url, headers=owner,
                              json={"userId": str(ann_id), "role": "member"})
    assert again.status_code == 409 and again.json()["type"] == "already_in_team"
    assert (await client.post(members_url, headers=ann,
                              json={"userId": str(owner_id)})).status_code == 403

    listed = await client.get(members_url, headers=bob)
    assert [(m["email"], m["role"]) for m in listed.json()["items"]] == [
        ("ann@example.com", "lead"), ("bob@example.com", "member")]
    demoted = await client.patch(f"{members_url}/{ann_id}", headers=owner,
                                 json={"role": "member"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "member"
    [changed] = await audited(AuditAction.TEAM_MEMBER_ROLE_CHANGED)
    assert changed["user_id"] == ann_id and changed["metadata"]["previous"] == "lead"
    assert (await client.patch(f"{members_url}/{ann_id}", headers=bob,
                               json={"role": "lead"})).status_code == 403
    assert (await client.patch(f"{members_url}/{out_id}", headers=owner,
                               json={"role": "lead"})).status_code == 404

    assert (await client.delete(f"{members_url}/{ann_id}", headers=bob)).status_code == 403
    assert (await client.delete(f"{members_url}/{bob_id}", headers=bob)).status_code == 204
    assert (await client.delete(f"{members_url}/{ann_id}", headers=owner)).status_code == 204
    assert (await client.delete(f"{members_url}/{ann_id}", headers=owner)).status_code == 404
    reasons = {e["user_id"]: e["metadata"]["reason"]
               for e in await audited(AuditAction.TEAM_MEMBER_REMOVED)}
    assert reasons == {bob_id: "left", ann_id: "removed"}
    assert await TeamMembership.count() == 0


async def test_a_team_of_another_organization_is_404(client, person):
    _, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    mine = await organization(client, ann, "Mine")
    theirs = await organization(client, bob, "Theirs")
    their_team = await team(client, bob, theirs)
    for path in (f"{ORGS}/{mine}/teams/{their_team['id']}",
                 f"{ORGS}/{mine}/teams/{their_team['id']}/members",
                 f"{ORGS}/{mine}/teams/{uuid.uuid4()}", f"{ORGS}/{mine}/teams/not-an-id",
                 f"{ORGS}/{theirs}/teams/{their_team['id']}", f"{ORGS}/not-an-id/teams"):
        assert (await client.get(path, headers=ann)).status_code == 404, path
    patched = await client.patch(f"{ORGS}/{mine}/teams/{their_team['id']}", headers=ann,
                                 json={"isActive": False})
    assert patched.status_code == 404
    joined = await client.post(f"{ORGS}/{mine}/teams/{their_team['id']}/members", headers=ann,
                               json={"userId": str(uuid.uuid4())})
    assert joined.status_code == 404
    assert (await client.get(f"{ORGS}/{theirs}/teams/{their_team['id']}",
                             headers=bob)).json()["isActive"] is True


async def test_bad_team_input_is_400(client, person, clock):
    owner_id, owner = await person("owner@example.com")
    org = await organization(client, owner)
    teams_url = f"{ORGS}/{org}/teams"
    primary = await team(client, owner, org)
    for body in ({"name": "   "}, {"name": ""}, {"name": "x" * 201}, {},
                 {"name": "ok", "description": "d" * 1001}, {"name": "a\x00b"}, {"name": 5}):
        response = await client.post(teams_url, headers=owner, json=body)
        assert response.status_code == 400, (body, response.text)
    for body in ({"isActive": None}, {"name": None}, {"name": "  "}, {"isActive": "no"}):
        response = await client.patch(f"{teams_url}/{primary['id']}", headers=owner, json=body)
        assert response.status_code == 400, (body, response.text)
    members_url = f"{teams_url}/{primary['id']}/members"
    role = await client.post(members_url, headers=owner,
                             json={"userId": str(owner_id), "role": "boss"})
    assert role.status_code == 400 and "lead, member" in role.text
    assert (await client.post(members_url, headers=owner,
                              json={"userId": "nope"})).status_code == 400
    assert (await client.post(members_url, headers=owner, json={})).status_code == 400
    assert (await client.get(teams_url, headers=owner,
                             params={"includeInactive": "maybe"})).status_code == 400
