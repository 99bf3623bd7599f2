"""Changing SCIM Users (RFC 7644 §3.5): PUT, PATCH in the shapes Okta and Entra ID send,
If-Match, what a changed email or phone means (unverified until verified again; an adopted
account's address is not the directory's), deactivation ending access on the next request,
and the profile the directory owns (Profile ``managedBy``, 409 ``managed_externally``)."""

from __future__ import annotations

import uuid

from db.tables import TeamMembership, User
from tests.scim_users_support import (
    SCIM_JSON,
    USERS,
    audit_events,
    create,
    directory,
    join,
    new_user,
    patch_body,
    scim_error,
)
from tests.support import PASSWORD, bearer, sign_in, token_of, wait_mail

MAGIC = "Your sign-in link"


async def magic_sign_in(client, mailbox, email: str, nth: int = 1) -> dict[str, str]:
    """Sign in with an emailed magic link (a provisioned account has no password)."""
    asked = await client.post("/v1/auth/magic-link/request", json={"email": email})
    assert asked.status_code == 200, asked.text
    mail = (await wait_mail(mailbox, email, count=nth, subject=MAGIC))[nth - 1]
    pair = await client.post("/v1/auth/magic-link/verify",
                             json={"token": token_of(mail.links[0])})
    assert pair.status_code == 200, pair.text
    return bearer(pair.json()["accessToken"])


async def patch(client, headers, user_id, *operations, **extra_headers):
    return await client.patch(f"{USERS}/{user_id}", headers={**headers, **extra_headers},
                              json=patch_body(*operations))


async def row(user_id) -> dict:
    return await User.select().where(User.id == uuid.UUID(str(user_id))).first()


async def test_put_replaces_the_user(client, person, clock):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user(externalId="00u1", title="Engineer"))
    response = await client.put(f"{USERS}/{created['id']}", headers=d.headers, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "barbara",
        "externalId": "00u2", "displayName": "Barbara J", "name": {"familyName": "J"},
        "emails": [{"value": "bjensen@acme.example", "primary": True}],
        "phoneNumbers": [{"value": "+44 20 7946 0958", "type": "work"}]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert response.headers["etag"] == body["meta"]["version"] != created["meta"]["version"]
    assert (body["userName"], body["externalId"], body["displayName"]) == (
        "barbara", "00u2", "Barbara J")
    assert body["name"] == {"familyName": "J", "formatted": "Barbara J"}  # givenName cleared
    assert "title" not in body and body["active"] is True  # no active: left as it is
    assert body["phoneNumbers"] == [{"value": "+442079460958", "type": "work"}]
    user = await row(created["id"])
    assert (user["name"], user["phone_number"]) == ("Barbara J", "+442079460958")
    [event] = await audit_events("scim.user.updated")
    assert event["actor_id"] == d.token_id and event["metadata"]["scimToken"] == str(d.token_id)
    assert set(event["metadata"]["fields"]) == {"name", "phoneNumbers", "userName",
                                                "externalId", "attributes"}
    assert "+442079460958" not in str(event["metadata"])  # names of fields, not values


async def test_patch_in_the_shapes_okta_and_entra_send(client, person, clock):
    d = await directory(client, person, clock)
    user_id = (await create(client, d.headers, new_user(externalId="00u1")))["id"]

    async def applied(*operations) -> dict:
        response = await patch(client, d.headers, user_id, *operations)
        assert response.status_code == 200, response.text
        assert response.json() == (await client.get(f"{USERS}/{user_id}",
                                                    headers=d.headers)).json()
        return response.json()

    assert (await applied({"op": "replace", "value": {"active": False}}))["active"] is False
    assert (await applied({"op": "Replace", "path": "active", "value": "True"}))["active"]
    assert (await applied({"op": "Replace", "path": "active", "value": "False"}))[
        "active"] is False
    assert (await applied({"op": "replace", "value": {"active": True}}))["active"] is True
    named = await applied({"op": "replace", "path": "name.givenName", "value": "Barb"})
    assert named["name"]["givenName"] == "Barb" and named["displayName"] == "Barbara Jensen"
    shown = await applied({"op": "replace", "path": "displayName", "value": "Barb Jensen"})
    assert shown["name"]["formatted"] == "Barb Jensen"
    moved = await applied({"op": "add", "path": 'emails[type eq "work"].value',
                           "value": "barb@acme.example"})
    assert moved["emails"] == [{"value": "barb@acme.example", "primary": True, "type": "work"}]
    phoned = await applied({"op": "add", "path": 'phoneNumbers[type eq "mobile"].value',
                            "value": "+14155552671"})
    assert phoned["phoneNumbers"] == [{"value": "+14155552671", "type": "work"}]
    renamed = await applied({"op": "replace", "path": "userName", "value": "barb"})
    assert renamed["userName"] == "barb"
    assert "externalId" not in await applied({"op": "remove", "path": "externalId"})
    department = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    extended = await applied({"op": "add", "path": f"{department}:department",
                              "value": "Sales"})
    assert extended[department] == {"department": "Sales"}
    assert department in extended["schemas"]
    user = await row(user_id)
    assert (user["email"], user["name"], user["phone_number"]) == (
        "barb@acme.example", "Barb Jensen", "+14155552671")
    # a PATCH that breaks a rule changes nothing
    scim_error(await patch(client, d.headers, user_id,
                           {"op": "replace", "path": "displayName", "value": "New"},
                           {"op": "replace", "path": "userName", "value": ""}), 400)
    assert (await row(user_id))["name"] == "Barb Jensen"
    scim_error(await patch(client, d.headers, user_id, {"op": "jump", "path": "userName"}),
               400)


async def test_if_match_refuses_a_stale_version(client, person, clock):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user())
    one = f"{USERS}/{created['id']}"
    version = created["meta"]["version"]
    first = await patch(client, d.headers, created["id"],
                        {"op": "replace", "path": "displayName", "value": "One"},
                        **{"if-match": version})
    assert first.status_code == 200, first.text
    stale = await patch(client, d.headers, created["id"],
                        {"op": "replace", "path": "displayName", "value": "Two"},
                        **{"if-match": version})
    scim_error(stale, 412)
    scim_error(await client.put(one, headers={**d.headers, "if-match": version},
                                json=new_user()), 412)
    assert (await row(created["id"]))["name"] == "One"
    anything = await patch(client, d.headers, created["id"],
                           {"op": "replace", "path": "displayName", "value": "Three"},
                           **{"if-match": "*"})
    assert anything.status_code == 200


async def test_a_changed_email_is_unverified_and_an_adopted_one_cannot_change(
        client, person, clock, mailbox):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user())
    await magic_sign_in(client, mailbox, "bjensen@acme.example")  # proves the address
    assert (await row(created["id"]))["email_verified_at"] is not None
    moved = await patch(client, d.headers, created["id"], {
        "op": "replace", "path": 'emails[type eq "work"].value', "value": "bj@acme.example"})
    assert moved.status_code == 200, moved.text
    user = await row(created["id"])
    assert (user["email"], user["email_verified_at"]) == ("bj@acme.example", None)
    await person("taken@acme.example")
    scim_error(await patch(client, d.headers, created["id"], {
        "op": "replace", "path": "emails", "value": [{"value": "taken@acme.example"}]}),
        409, "uniqueness")

    ann_id, _ = await person("ann@acme.example", "Ann")
    await join(clock, d.organization_id, ann_id)
    await create(client, d.headers, new_user("ann@acme.example"))
    refused = scim_error(await patch(client, d.headers, ann_id, {
        "op": "replace", "path": "emails", "value": [{"value": "ann@corp.example"}]}),
        400, "mutability")
    assert "belongs to the person" in refused["detail"]
    ann = await row(ann_id)
    assert ann["email"] == "ann@acme.example" and ann["email_verified_at"] is not None
    # the same address in another letter case is no change
    same = await patch(client, d.headers, ann_id, {
        "op": "replace", "path": "emails", "value": [{"value": "ANN@acme.example"}]})
    assert same.status_code == 200, same.text


async def test_a_changed_phone_is_unverified_and_two_factor_stays(client, person, clock):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user(
        phoneNumbers=[{"value": "+14155552671"}]))
    await User.update({User.phone_verified_at: clock(),
                       User.sms_two_factor_phone: "+14155552671"}).where(
        User.id == uuid.UUID(created["id"]))
    same = await patch(client, d.headers, created["id"], {
        "op": "replace", "path": "phoneNumbers", "value": [{"value": "+1 415-555-2671"}]})
    assert same.status_code == 200
    assert (await row(created["id"]))["phone_verified_at"] is not None  # the same number
    moved = await patch(client, d.headers, created["id"], {
        "op": "replace", "path": "phoneNumbers", "value": [{"value": "+14155552672"}]})
    assert moved.status_code == 200, moved.text
    user = await row(created["id"])
    assert (user["phone_number"], user["phone_verified_at"]) == ("+14155552672", None)
    assert user["sms_two_factor_phone"] == "+14155552671"  # the person's second factor


async def test_deactivation_ends_access_on_the_next_request(client, person, clock, mailbox):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user())
    signed_in = await magic_sign_in(client, mailbox, "bjensen@acme.example")
    assert (await client.get("/v1/users/me", headers=signed_in)).status_code == 200
    off = await patch(client, d.headers, created["id"],
                      {"op": "replace", "value": {"active": False}})
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await client.get("/v1/users/me", headers=signed_in)).status_code == 401
    assert (await row(created["id"]))["is_active"] is False
    asked = await client.post("/v1/auth/magic-link/request",
                              json={"email": "bjensen@acme.example"})
    assert asked.status_code == 200  # the same answer, and no link is sent
    [event] = await audit_events("scim.user.deactivated")
    assert event["actor_id"] == d.token_id and event["metadata"]["scope"] == "account"

    on = await patch(client, d.headers, created["id"],
                     {"op": "Replace", "path": "active", "value": "True"})
    assert on.status_code == 200 and on.json()["active"] is True
    again = await magic_sign_in(client, mailbox, "bjensen@acme.example", nth=2)
    assert (await client.get("/v1/users/me", headers=again)).status_code == 200
    assert len(await audit_events("scim.user.reactivated")) == 1


async def test_an_adopted_persons_membership_is_suspended_not_their_account(
        client, person, clock):
    d = await directory(client, person, clock)
    ann_id, ann = await person("ann@acme.example", "Ann")
    await join(clock, d.organization_id, ann_id)
    await create(client, d.headers, new_user("ann@acme.example"))
    off = await patch(client, d.headers, ann_id,
                      {"op": "Replace", "path": "active", "value": "False"})
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await client.get("/v1/users/me", headers=ann)).status_code == 200
    assert (await sign_in(client, "ann@acme.example", PASSWORD)).status_code == 200
    members = await client.get(f"/v1/organizations/{d.organization_id}/members",
                               headers=d.owner)
    assert {m["userId"]: m["status"] for m in members.json()["items"]}[str(ann_id)] == (
        "suspended")
    [event] = await audit_events("scim.user.deactivated")
    assert event["metadata"]["scope"] == "membership"
    on = await patch(client, d.headers, ann_id, {"op": "replace", "value": {"active": True}})
    assert on.json()["active"] is True


async def test_the_last_owner_stays(client, person, clock):
    d = await directory(client, person, clock)
    scim_error(await patch(client, d.headers, d.owner_id,
                           {"op": "replace", "value": {"active": False}}), 409)
    scim_error(await client.delete(f"{USERS}/{d.owner_id}", headers=d.headers), 409)
    assert (await client.get(f"{USERS}/{d.owner_id}", headers=d.headers)).json()["active"]


async def test_the_directory_owns_the_profile(client, person, clock, mailbox):
    d = await directory(client, person, clock)
    await create(client, d.headers, new_user(phoneNumbers=[{"value": "+14155552671"}]))
    headers = await magic_sign_in(client, mailbox, "bjensen@acme.example")
    profile = (await client.get("/v1/users/me", headers=headers)).json()
    assert profile["managedBy"] == {"type": "scim", "organizationId": d.organization_id}
    refused = await client.patch("/v1/users/me", headers=headers,
                                 json={"name": "Someone Else", "nickname": "B"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "managed_externally"
    assert refused.json()["fields"] == ["name"]
    kept = await client.patch("/v1/users/me", headers=headers, json={"nickname": "Barb"})
    assert kept.status_code == 200, kept.text  # the rest of the profile is the person's


async def test_delete_erases_an_account_the_directory_created(client, person, clock):
    d = await directory(client, person, clock)
    created = await create(client, d.headers, new_user())
    gone = await client.delete(f"{USERS}/{created['id']}", headers=d.headers)
    assert gone.status_code == 204 and gone.content == b""
    scim_error(await client.get(f"{USERS}/{created['id']}", headers=d.headers), 404)
    user = await row(created["id"])
    assert user["deleted_at"] is not None and user["email"].endswith("@deleted.invalid")
    [event] = await audit_events("scim.user.deleted")
    assert event["metadata"]["erased"] is True and event["actor_id"] == d.token_id
    again = await client.post("/v1/auth/register",
                              json={"email": "bjensen@acme.example", "password": PASSWORD})
    assert again.status_code == 201, again.text
    scim_error(await client.delete(f"{USERS}/{created['id']}", headers=d.headers), 404)


async def test_delete_keeps_an_account_that_belongs_elsewhere(client, person, clock):
    acme = await directory(client, person, clock)
    other = await directory(client, person, clock, "boss@globex.example", "Globex")
    created = await create(client, acme.headers, new_user())
    user_id = uuid.UUID(created["id"])
    await join(clock, other.organization_id, user_id)
    team = await client.post(f"/v1/organizations/{acme.organization_id}/teams",
                             headers=acme.owner, json={"name": "Ops"})
    assert team.status_code == 201, team.text
    added = await client.post(
        f"/v1/organizations/{acme.organization_id}/teams/{team.json()['id']}/members",
        headers=acme.owner, json={"userId": str(user_id), "role": "member"})
    assert added.status_code == 201, added.text
    assert (await client.delete(f"{USERS}/{user_id}", headers=acme.headers)).status_code == 204
    user = await row(user_id)
    assert user["deleted_at"] is None and user["is_active"] is True
    assert (user["managed_by_organization_id"], user["created_by_scim"]) == (None, False)
    assert user["organization_count"] == 1
    assert await TeamMembership.count().where(TeamMembership.user_id == user_id) == 0
    assert (await client.get(f"{USERS}/{user_id}", headers=other.headers)).status_code == 200
    [event] = await audit_events("scim.user.deleted")
    assert event["metadata"]["erased"] is False

    ann_id, ann = await person("ann@acme.example", "Ann")  # adopted: only the membership goes
    await join(clock, acme.organization_id, ann_id)
    await create(client, acme.headers, new_user("ann@acme.example"))
    assert (await client.delete(f"{USERS}/{ann_id}", headers=acme.headers)).status_code == 204
    assert (await row(ann_id))["managed_by_organization_id"] is None
    assert (await client.get("/v1/users/me", headers=ann)).status_code == 200


async def test_a_put_to_a_member_adopts_them_as_okta_links_people(client, person, clock):
    """Okta links an existing person by ``userName eq`` and then writes with PUT."""
    d = await directory(client, person, clock)
    ann_id, ann = await person("ann@acme.example", "Ann")
    await join(clock, d.organization_id, ann_id)
    found = (await client.get(USERS, headers=d.headers,
                              params={"filter": 'userName eq "ann@acme.example"'})).json()
    assert [r["id"] for r in found["Resources"]] == [str(ann_id)]
    linked = await client.put(f"{USERS}/{ann_id}", headers=d.headers, json=new_user(
        "ann@acme.example", externalId="00uAnn", displayName="Ann Directory"))
    assert linked.status_code == 200, linked.text
    user = await row(ann_id)
    assert user["managed_by_organization_id"] == uuid.UUID(d.organization_id)
    assert (user["created_by_scim"], user["name"]) == (False, "Ann Directory")
    refused = await client.patch("/v1/users/me", headers=ann, json={"name": "Ann Again"})
    assert refused.status_code == 409 and refused.json()["fields"] == ["name"]

    # a person whose profile another organization's directory manages keeps that one
    other = await directory(client, person, clock, "boss@globex.example", "Globex")
    owned = await create(client, other.headers, new_user("owned@globex.example"))
    await join(clock, d.organization_id, uuid.UUID(owned["id"]))
    scim_error(await patch(client, d.headers, owned["id"],
                           {"op": "replace", "path": "displayName", "value": "Renamed"}),
               400, "mutability")
    off = await patch(client, d.headers, owned["id"],
                      {"op": "replace", "value": {"active": False}})
    assert off.status_code == 200 and off.json()["active"] is False  # its membership here
    assert (await row(owned["id"]))["is_active"] is True
    assert (await client.get(f"{USERS}/{owned['id']}", headers=other.headers)).json()["active"]
