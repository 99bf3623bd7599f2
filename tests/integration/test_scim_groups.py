"""SCIM Groups (RFC 7643 §4.2, RFC 7644 §3): an organization's teams created, read, listed,
replaced, patched in Okta's and Entra ID's shapes and deleted by its directory — members only
from the organization, uniqueness, ETags, and another organization's groups out of reach — on
the real app, database and Redis."""

from __future__ import annotations

import uuid
from typing import Any

from db.tables import Membership, Team, TeamMembership, User
from db.transaction import transaction
from tests.scim_users_support import (
    SCIM_JSON,
    audit_events,
    directory,
    join,
    patch_body,
    scim_error,
)

GROUPS = "/scim/v2/Groups"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def new_group(name: str = "On-call", members: list[Any] = (), **extra: Any) -> dict[str, Any]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name,
            "members": [{"value": str(m)} for m in members], **extra}


async def create(client, headers, body) -> dict[str, Any]:
    response = await client.post(GROUPS, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def people(person, clock, d, *names: str) -> list[uuid.UUID]:
    """Members of the directory's organization (by invitation, as memberships.add leaves it)."""
    ids = []
    for name in names:
        user_id, _ = await person(f"{name.lower()}@acme.example", name)
        await join(clock, d.organization_id, user_id)
        ids.append(user_id)
    return ids


def member_ids(group: dict[str, Any]) -> set[str]:
    return {m["value"] for m in group.get("members", [])}


async def team_members(team_id: str) -> set[str]:
    rows = await TeamMembership.select(TeamMembership.user_id).where(
        TeamMembership.team_id == uuid.UUID(team_id))
    return {str(r["user_id"]) for r in rows}


async def test_create_makes_a_team_with_the_organizations_members(client, person, clock):
    d = await directory(client, person, clock)
    ann, bob = await people(person, clock, d, "Ann", "Bob")
    response = await client.post(GROUPS, headers=d.headers, json=new_group(
        "  Platform  ", [ann, bob], externalId="okta-00g1"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert response.headers["location"] == body["meta"]["location"] == (
        f"http://testserver{GROUPS}/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["displayName"] == "Platform" and body["externalId"] == "okta-00g1"
    assert sorted(body["members"], key=lambda m: m["display"]) == [
        {"value": str(ann), "display": "Ann", "$ref": f"http://testserver/scim/v2/Users/{ann}",
         "type": "User"},
        {"value": str(bob), "display": "Bob", "$ref": f"http://testserver/scim/v2/Users/{bob}",
         "type": "User"}]
    assert body["meta"]["resourceType"] == "Group"
    team = await Team.select().where(Team.id == uuid.UUID(body["id"])).first()
    assert team["organization_id"] == uuid.UUID(d.organization_id) and team["is_active"]
    assert team["scim_external_id"] == "okta-00g1"
    roles = await TeamMembership.select(TeamMembership.role).where(
        TeamMembership.team_id == team["id"])
    assert [r["role"] for r in roles] == ["member", "member"]
    assert (await client.get(f"{GROUPS}/{body['id']}", headers=d.headers)).json() == body
    # the organization's own API sees the team
    teams = await client.get(f"/v1/organizations/{d.organization_id}/teams", headers=d.owner)
    assert [t["name"] for t in teams.json()["items"]] == ["Platform"]
    [event] = await audit_events("scim.group.created")
    assert event["actor_id"] == d.token_id
    assert event["organization_id"] == uuid.UUID(d.organization_id)
    assert event["metadata"]["scimToken"] == str(d.token_id)
    assert event["metadata"]["members"] == 2


async def test_members_must_be_active_members_of_the_organization(client, person, clock):
    d = await directory(client, person, clock)
    other = await directory(client, person, clock, "owner@globex.example", "Globex")
    [ann] = await people(person, clock, d, "Ann")
    stranger, _ = await person("stranger@globex.example", "Stranger")
    await join(clock, other.organization_id, stranger)
    error = scim_error(await client.post(GROUPS, headers=d.headers, json=new_group(
        "Ops", [ann, stranger])), 400, "invalidValue")
    assert str(stranger) in error["detail"]
    scim_error(await client.post(GROUPS, headers=d.headers, json=new_group(
        "Ops", ["not-a-uuid"])), 400, "invalidValue")
    assert await Team.count() == 0  # nothing of a refused request was written
    group = await create(client, d.headers, new_group("Ops", [ann]))
    error = scim_error(await client.patch(f"{GROUPS}/{group['id']}", headers=d.headers,
                                          json=patch_body({"op": "add", "path": "members",
                                                           "value": [{"value": str(stranger)}]})),
                       400, "invalidValue")
    assert str(stranger) in error["detail"]
    # a suspended member is in no team (as the organization's API keeps it)
    suspended = await client.patch(f"/v1/organizations/{d.organization_id}/members/{ann}",
                                   headers=d.owner, json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert await team_members(group["id"]) == set()
    scim_error(await client.put(f"{GROUPS}/{group['id']}", headers=d.headers,
                                json=new_group("Ops", [ann])), 400, "invalidValue")


async def test_names_and_external_ids_are_unique_in_the_organization(client, person, clock):
    d = await directory(client, person, clock)
    other = await directory(client, person, clock, "owner@globex.example", "Globex")
    first = await create(client, d.headers, new_group("Ops", externalId="g-1"))
    scim_error(await client.post(GROUPS, headers=d.headers, json=new_group("ops")),
               409, "uniqueness")
    scim_error(await client.post(GROUPS, headers=d.headers,
                                 json=new_group("Other", externalId="g-1")), 409, "uniqueness")
    second = await create(client, d.headers, new_group("Other"))
    scim_error(await client.patch(f"{GROUPS}/{second['id']}", headers=d.headers, json=patch_body(
        {"op": "replace", "path": "displayName", "value": "OPS"})), 409, "uniqueness")
    # the same name and externalId in another organization are another group
    await create(client, other.headers, new_group("Ops", externalId="g-1"))
    # renaming a group to its own name in another case is no clash
    renamed = await client.put(f"{GROUPS}/{first['id']}", headers=d.headers,
                               json=new_group("OPS", externalId="g-1"))
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "OPS"


async def test_input_rules(client, person, clock):
    d = await directory(client, person, clock)
    scim_error(await client.post(GROUPS, headers=d.headers, json={"schemas": [GROUP_SCHEMA]}),
               400)
    scim_error(await client.post(GROUPS, headers=d.headers, json=new_group("   ")),
               400, "invalidValue")
    scim_error(await client.post(GROUPS, headers=d.headers, json=new_group("x" * 201)),
               400, "invalidValue")
    scim_error(await client.post(GROUPS, headers=d.headers,
                                 json=new_group("Ops", externalId="e" * 256)), 400, "invalidValue")
    scim_error(await client.post(GROUPS, headers=d.headers, content=b"{nope"), 400,
               "invalidSyntax")
    assert await Team.count() == 0


async def test_every_patch_shape_okta_and_entra_send(client, person, clock):
    d = await directory(client, person, clock)
    ann, bob, cid = await people(person, clock, d, "Ann", "Bob", "Cid")
    group = await create(client, d.headers, new_group("Ops", [ann]))
    one = f"{GROUPS}/{group['id']}"

    async def patched(*operations: dict[str, Any]) -> dict[str, Any]:
        response = await client.patch(one, headers=d.headers, json=patch_body(*operations))
        assert response.status_code == 200, response.text
        assert response.json() == (await client.get(one, headers=d.headers)).json()
        return response.json()

    # Entra ID: replace without a path, capitalised op names
    assert (await patched({"op": "Replace", "value": {"id": group["id"],
                                                      "displayName": "Ops 2"}}))[
        "displayName"] == "Ops 2"
    assert (await patched({"op": "replace", "path": "displayName", "value": "Ops 3"}))[
        "displayName"] == "Ops 3"
    assert member_ids(await patched({"op": "add", "path": "members", "value": [
        {"value": str(bob)}, {"value": str(ann)}]})) == {str(ann), str(bob)}
    assert member_ids(await patched({"op": "Add", "path": "members", "value": [
        {"value": str(cid)}]})) == {str(ann), str(bob), str(cid)}
    # Entra ID removes one member by a value filter in the path
    assert member_ids(await patched({"op": "Remove",
                                     "path": f'members[value eq "{bob}"]'})) == {str(ann), str(cid)}
    # Okta removes members by listing them as the value
    assert member_ids(await patched({"op": "remove", "path": "members",
                                     "value": [{"value": str(ann)}]})) == {str(cid)}
    # replace the whole list, several operations in one request
    body = await patched({"op": "replace", "path": "members", "value": [{"value": str(bob)}]},
                         {"op": "replace", "path": "externalId", "value": "ext-9"})
    assert member_ids(body) == {str(bob)} and body["externalId"] == "ext-9"
    assert await team_members(group["id"]) == {str(bob)}
    assert member_ids(await patched({"op": "remove", "path": "members"})) == set()
    events = await audit_events("scim.group.updated")
    assert [e["metadata"]["fields"] for e in events][:2] == [["displayName"], ["displayName"]]
    assert events[2]["metadata"]["added"] == 1 and events[-1]["metadata"]["removed"] == 1
    assert all(e["actor_id"] == d.token_id for e in events)
    # a patch that changes nothing is not audited; a required attribute cannot go
    await patched({"op": "add", "path": "members", "value": []})
    assert len(await audit_events("scim.group.updated")) == len(events)
    scim_error(await client.patch(one, headers=d.headers, json=patch_body(
        {"op": "remove", "path": "displayName"})), 400)
    scim_error(await client.patch(one, headers=d.headers, json=patch_body(
        {"op": "jump", "path": "displayName"})), 400)


async def test_put_replaces_name_external_id_and_members(client, person, clock):
    d = await directory(client, person, clock)
    ann, bob = await people(person, clock, d, "Ann", "Bob")
    group = await create(client, d.headers, new_group("Ops", [ann], externalId="e-1"))
    clock.advance(seconds=5)
    response = await client.put(f"{GROUPS}/{group['id']}", headers=d.headers,
                                json=new_group("Platform", [bob]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Platform" and "externalId" not in body
    assert member_ids(body) == {str(bob)}
    assert body["meta"]["created"] == group["meta"]["created"]
    assert body["meta"]["lastModified"] > group["meta"]["lastModified"]
    assert response.headers["etag"] == body["meta"]["version"] != group["meta"]["version"]
    # a PUT without members leaves none (RFC 7644 §3.5.1 replaces the whole resource)
    emptied = await client.put(f"{GROUPS}/{group['id']}", headers=d.headers,
                               json={"schemas": [GROUP_SCHEMA], "displayName": "Platform"})
    assert emptied.json()["members"] == [] and await team_members(group["id"]) == set()


async def test_if_match_refuses_a_change_made_against_an_older_version(client, person, clock):
    d = await directory(client, person, clock)
    [ann] = await people(person, clock, d, "Ann")
    group = await create(client, d.headers, new_group("Ops"))
    one = f"{GROUPS}/{group['id']}"
    version = group["meta"]["version"]
    add = patch_body({"op": "add", "path": "members", "value": [{"value": str(ann)}]})
    changed = await client.patch(one, headers={**d.headers, "if-match": version}, json=add)
    assert changed.status_code == 200, changed.text
    scim_error(await client.patch(one, headers={**d.headers, "if-match": version}, json=patch_body(
        {"op": "replace", "path": "displayName", "value": "Late"})), 412)
    scim_error(await client.put(one, headers={**d.headers, "if-match": version},
                                json=new_group("Late")), 412)
    assert (await client.get(one, headers=d.headers)).json()["displayName"] == "Ops"
    current = changed.headers["etag"]
    assert (await client.get(one, headers=d.headers)).headers["etag"] == current
    renamed = await client.put(one, headers={**d.headers, "if-match": current},
                               json=new_group("Now", [ann]))
    assert renamed.status_code == 200
    star = await client.put(one, headers={**d.headers, "if-match": "*"}, json=new_group("Star"))
    assert star.status_code == 200
    # a member's new name is a new version of the group too (display is served)
    before = (await client.get(one, headers=d.headers)).headers["etag"]
    await client.put(one, headers=d.headers, json=new_group("Star", [ann]))
    mid = (await client.get(one, headers=d.headers)).headers["etag"]
    await User.update({User.name: "Annie"}).where(User.id == ann)
    assert (await client.get(one, headers=d.headers)).headers["etag"] not in (before, mid)


async def test_filters_paging_and_attribute_selection(client, person, clock):
    d = await directory(client, person, clock)
    ann, bob = await people(person, clock, d, "Ann", "Bob")
    groups = []
    for index, name in enumerate(["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]):
        groups.append(await create(client, d.headers, new_group(
            name, [ann] if index % 2 == 0 else [bob], externalId=f"ext-{index}")))
        clock.advance(seconds=1)

    async def names(**params: Any) -> list[str]:
        response = await client.get(GROUPS, headers=d.headers, params=params)
        assert response.status_code == 200, response.text
        return [r["displayName"] for r in response.json()["Resources"]]

    assert await names(filter='displayName eq "beta"') == ["Beta"]  # not caseExact
    assert await names(filter='externalId eq "ext-3"') == ["Delta"]
    assert await names(filter='externalId eq "EXT-3"') == []  # caseExact
    assert await names(filter=f'id eq "{groups[4]["id"]}"') == ["Epsilon"]
    assert await names(filter=f'members.value eq "{bob}"') == ["Beta", "Delta"]
    assert await names(filter=f'members[value eq "{ann}"] and displayName sw "g"') == ["Gamma"]
    assert await names(filter=f'not (members.value eq "{ann}")') == ["Beta", "Delta"]
    assert await names(filter='displayName eq "Alpha" or externalId eq "ext-4"') == [
        "Alpha", "Epsilon"]
    scim_error(await client.get(GROUPS, headers=d.headers, params={"filter": 'nope eq "x"'}),
               400, "invalidFilter")
    scim_error(await client.get(GROUPS, headers=d.headers, params={"filter": "displayName eq"}),
               400, "invalidFilter")
    page = (await client.get(GROUPS, headers=d.headers,
                             params={"startIndex": 2, "count": 2})).json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["displayName"] for r in page["Resources"]] == ["Beta", "Gamma"]
    counted = (await client.get(GROUPS, headers=d.headers, params={"count": 0})).json()
    assert counted["totalResults"] == 5 and counted["Resources"] == []
    assert await names(startIndex=0, count=1) == ["Alpha"]
    assert await names(startIndex=9) == []
    # Entra ID looks groups up without their members
    found = (await client.get(GROUPS, headers=d.headers, params={
        "filter": 'displayName eq "Alpha"', "excludedAttributes": "members"})).json()
    [alpha] = found["Resources"]
    assert "members" not in alpha and alpha["id"] == groups[0]["id"]
    assert alpha["meta"]["version"] == groups[0]["meta"]["version"]
    one = (await client.get(f"{GROUPS}/{groups[0]['id']}", headers=d.headers,
                            params={"attributes": "displayName"})).json()
    assert set(one) == {"schemas", "id", "displayName"}


async def test_delete_removes_the_team_and_its_memberships(client, person, clock):
    d = await directory(client, person, clock)
    [ann] = await people(person, clock, d, "Ann")
    group = await create(client, d.headers, new_group("Ops", [ann]))
    one = f"{GROUPS}/{group['id']}"
    response = await client.delete(one, headers=d.headers)
    assert response.status_code == 204 and response.content == b""
    scim_error(await client.get(one, headers=d.headers), 404)
    scim_error(await client.delete(one, headers=d.headers), 404)
    assert await Team.count() == 0 and await TeamMembership.count() == 0
    # the person stays a member of the organization
    members = await client.get(f"/scim/v2/Users/{ann}", headers=d.headers)
    assert members.status_code == 200
    [event] = await audit_events("scim.group.deleted")
    assert event["actor_id"] == d.token_id and event["metadata"]["name"] == "Ops"


async def test_another_organizations_group_is_not_found(client, person, clock):
    acme = await directory(client, person, clock)
    other = await directory(client, person, clock, "owner@globex.example", "Globex")
    group = await create(client, acme.headers, new_group("Ops"))
    one = f"{GROUPS}/{group['id']}"
    scim_error(await client.get(one, headers=other.headers), 404)
    scim_error(await client.put(one, headers=other.headers, json=new_group("Mine")), 404)
    scim_error(await client.patch(one, headers=other.headers, json=patch_body(
        {"op": "replace", "path": "displayName", "value": "Mine"})), 404)
    scim_error(await client.delete(one, headers=other.headers), 404)
    scim_error(await client.get(f"{GROUPS}/not-a-uuid", headers=acme.headers), 404)
    assert (await client.get(GROUPS, headers=other.headers)).json()["totalResults"] == 0
    scim_error(await client.get(GROUPS), 401)
    assert (await client.get(one, headers=acme.headers)).json()["displayName"] == "Ops"


async def test_thousands_of_members_in_one_request(client, person, clock):
    d = await directory(client, person, clock)
    now = clock()
    ids = [uuid.uuid4() for _ in range(1500)]
    organization_id = uuid.UUID(d.organization_id)
    for start in range(0, len(ids), 300):  # PostgreSQL takes at most 32767 parameters
        chunk = list(enumerate(ids))[start:start + 300]
        async with transaction():
            await User.insert(*(User(id=i, email=f"p{n}@acme.example",
                                     email_lower=f"p{n}@acme.example", password_hash="x",
                                     name=f"P{n}", created_at=now, updated_at=now)
                                for n, i in chunk))
            await Membership.insert(*(Membership(
                id=uuid.uuid4(), organization_id=organization_id, user_id=i, role="member",
                status="active", created_at=now, updated_at=now) for _, i in chunk))
    group = await create(client, d.headers, new_group("Everyone", ids[:1000]))
    assert len(group["members"]) == 1000
    response = await client.patch(f"{GROUPS}/{group['id']}", headers=d.headers, json=patch_body(
        {"op": "add", "path": "members", "value": [{"value": str(i)} for i in ids[1000:]]},
        {"op": "remove", "path": "members", "value": [{"value": str(i)} for i in ids[:500]]}))
    assert response.status_code == 200, response.text
    assert set(member_ids(response.json())) == {str(i) for i in ids[500:]}
    assert len(await team_members(group["id"])) == 1000
