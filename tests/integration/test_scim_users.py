"""SCIM Users (RFC 7643 §4.1, RFC 7644 §3.3-3.4): authentication, creation of a passwordless
member, adopting a member who is not provisioned yet, refusing to take over anyone else's
account, uniqueness, input rules, the 1 MB body limit and SCIM's media type and error shape
— on the real app, database and Redis."""

from __future__ import annotations

import uuid

from db.repositories import scim_tokens
from db.tables import AuditEvent, Membership, NotificationPreference, User
from db.transaction import transaction
from tests.scim_users_support import (
    SCIM_JSON,
    USERS,
    audit_events,
    create,
    directory,
    join,
    new_user,
    scim_error,
)
from tests.support import PASSWORD, sign_in


async def test_every_request_needs_a_live_token_of_the_organization(client, person, clock):
    d = await directory(client, person, clock)
    missing = await client.get(USERS)
    scim_error(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    scim_error(await client.get(USERS, headers={"authorization": "Bearer nope"}), 401)
    assert (await client.get(USERS, headers=d.headers)).status_code == 200
    async with transaction():
        assert await scim_tokens.revoke(uuid.UUID(d.organization_id), d.token_id, clock())
    scim_error(await client.get(USERS, headers=d.headers), 401)


async def test_a_token_reaches_only_its_organizations_members(client, person, clock):
    acme = await directory(client, person, clock)
    other = await directory(client, person, clock, "owner@globex.example", "Globex")
    created = await create(client, acme.headers, new_user())
    one = f"{USERS}/{created['id']}"
    scim_error(await client.get(one, headers=other.headers), 404)
    scim_error(await client.put(one, headers=other.headers, json=new_user()), 404)
    scim_error(await client.patch(one, headers=other.headers, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}]}), 404)
    scim_error(await client.delete(one, headers=other.headers), 404)
    scim_error(await client.get(f"{USERS}/not-a-uuid", headers=acme.headers), 404)
    listed = (await client.get(USERS, headers=other.headers)).json()
    assert [r["userName"] for r in listed["Resources"]] == ["owner@globex.example"]
    # every member is a SCIM User, the owner who created the organization too
    mine = (await client.get(USERS, headers=acme.headers)).json()
    assert [r["userName"] for r in mine["Resources"]] == ["owner@acme.example",
                                                          "bjensen@acme.example"]
    assert (await client.get(one, headers=acme.headers)).json()["active"] is True


async def test_create_provisions_a_passwordless_unverified_member(client, person, clock):
    d = await directory(client, person, clock)
    response = await client.post(USERS, headers=d.headers, json=new_user(
        externalId="00u1abc", title="Engineer", phoneNumbers=[
            {"value": "+1 415 555 2671", "type": "mobile"}]))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert response.headers["location"] == body["meta"]["location"] == (
        f"http://testserver{USERS}/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["userName"] == "bjensen@acme.example" and body["externalId"] == "00u1abc"
    assert body["displayName"] == "Barbara Jensen"
    assert body["name"] == {"givenName": "Barbara", "familyName": "Jensen",
                            "formatted": "Barbara Jensen"}
    assert body["emails"] == [{"value": "bjensen@acme.example", "primary": True,
                               "type": "work"}]
    assert body["phoneNumbers"] == [{"value": "+14155552671", "type": "work"}]
    assert body["title"] == "Engineer" and body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert (await client.get(f"{USERS}/{body['id']}", headers=d.headers)).json() == body

    user = await User.select().where(User.id == uuid.UUID(body["id"])).first()
    assert user["created_by_scim"] is True
    assert user["managed_by_organization_id"] == uuid.UUID(d.organization_id)
    assert user["email_verified_at"] is None and user["phone_verified_at"] is None
    assert user["roles"] == ["user"] and user["account_type"] == "personal"
    assert user["name"] == "Barbara Jensen" and user["organization_count"] == 1
    assert await NotificationPreference.count().where(
        NotificationPreference.user_id == user["id"]) == 1
    membership = await Membership.select().where(Membership.user_id == user["id"]).first()
    assert membership["role"] == "member" and membership["status"] == "active"
    assert membership["scim_user_name"] == "bjensen@acme.example"
    assert membership["scim_external_id"] == "00u1abc"
    # no usable password: a guess does not sign in
    assert (await sign_in(client, "bjensen@acme.example", PASSWORD)).status_code == 401
    [event] = await audit_events("scim.user.created")
    assert event["user_id"] == user["id"] and event["actor_id"] == d.token_id
    assert event["organization_id"] == uuid.UUID(d.organization_id)
    assert event["metadata"]["scimToken"] == str(d.token_id)
    assert event["metadata"]["adopted"] is False


async def test_what_a_creation_must_carry(client, person, clock):
    d = await directory(client, person, clock)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
    scim_error(await client.post(USERS, headers=d.headers, json=body), 400, "invalidValue")
    scim_error(await client.post(USERS, headers=d.headers, json={**body, "userName": "jdoe"}),
               400, "invalidValue")  # no email, and userName is not an address
    scim_error(await client.post(USERS, headers=d.headers, json=new_user(
        phoneNumbers=[{"value": "555-1234"}])), 400, "invalidValue")
    scim_error(await client.post(USERS, headers=d.headers, json=new_user(
        emails=[{"value": "not an address"}])), 400, "invalidValue")
    scim_error(await client.post(USERS, headers=d.headers, content=b"{nope"), 400,
               "invalidSyntax")
    assert await User.count() == 1  # the owner only

    # the email: the primary one, else the first, else userName; the name: displayName,
    # else name.formatted, else givenName familyName
    first = await create(client, d.headers, {**body, "userName": "jdoe", "emails": [
        {"value": "home@acme.example", "type": "home"},
        {"value": "Work@Acme.Example", "type": "work", "primary": True}],
        "name": {"formatted": "John Doe"}})
    assert first["emails"][0]["value"] == "Work@acme.example"
    assert first["displayName"] == "John Doe" and first["userName"] == "jdoe"
    second = await create(client, d.headers, {**body, "userName": "ann@acme.example",
                                              "name": {"givenName": "Ann"}})
    assert second["emails"][0]["value"] == "ann@acme.example"
    assert second["displayName"] == "Ann"
    third = await create(client, d.headers, {**body, "userName": "cy", "emails": [
        {"value": "cy@acme.example"}, {"value": "cy2@acme.example"}]})
    assert third["emails"][0]["value"] == "cy@acme.example" and "displayName" not in third


async def test_user_name_external_id_and_email_are_unique(client, person, clock):
    d = await directory(client, person, clock)
    await create(client, d.headers, new_user(externalId="00u1"))
    taken = await client.post(USERS, headers=d.headers, json=new_user(
        "BJensen@acme.example", emails=[{"value": "other@acme.example", "primary": True}]))
    scim_error(taken, 409, "uniqueness")
    scim_error(await client.post(USERS, headers=d.headers, json=new_user(
        "other@acme.example", externalId="00u1")), 409, "uniqueness")
    # a member no directory provisioned answers to their email as userName
    scim_error(await client.post(USERS, headers=d.headers, json=new_user(
        "owner@acme.example", emails=[{"value": "x@acme.example", "primary": True}])),
        409, "uniqueness")
    # externalId is case-exact: another letter case is another id
    await create(client, d.headers, new_user("c@acme.example", externalId="00U1"))
    assert await User.count() == 3


async def test_an_unprovisioned_active_member_is_adopted(client, person, clock):
    d = await directory(client, person, clock)
    ann_id, ann = await person("ann@acme.example", "Ann Original")
    await join(clock, d.organization_id, ann_id)
    adopted = await create(client, d.headers, new_user(
        "ann@acme.example", externalId="00uAnn", displayName="Ann Directory"))
    assert adopted["id"] == str(ann_id) and adopted["externalId"] == "00uAnn"
    assert adopted["displayName"] == "Ann Directory"
    user = await User.select().where(User.id == ann_id).first()
    assert user["created_by_scim"] is False
    assert user["managed_by_organization_id"] == uuid.UUID(d.organization_id)
    assert user["email_verified_at"] is not None  # the person's own address, still verified
    assert (await client.get("/v1/users/me", headers=ann)).status_code == 200
    [event] = await audit_events("scim.user.created")
    assert event["metadata"]["adopted"] is True
    # once provisioned, a second creation with that email is a conflict
    scim_error(await client.post(USERS, headers=d.headers, json=new_user(
        "ann2", emails=[{"value": "ann@acme.example"}])), 409, "uniqueness")


async def test_a_directory_never_takes_over_another_account(client, person, clock):
    d = await directory(client, person, clock)
    stranger_id, _ = await person("stranger@acme.example", "Stranger")
    refused = scim_error(await client.post(USERS, headers=d.headers,
                                           json=new_user("stranger@acme.example")),
                         409, "uniqueness")
    assert "Invite" in refused["detail"]
    suspended_id, _ = await person("sus@acme.example")
    await join(clock, d.organization_id, suspended_id)
    await Membership.update({Membership.status: "suspended"}).where(
        Membership.user_id == suspended_id)
    scim_error(await client.post(USERS, headers=d.headers, json=new_user("sus@acme.example")),
               409, "uniqueness")
    # another organization's directory already owns this member's profile
    other = await directory(client, person, clock, "boss@globex.example", "Globex")
    owned = await create(client, other.headers, new_user("owned@globex.example"))
    await join(clock, d.organization_id, uuid.UUID(owned["id"]))
    scim_error(await client.post(USERS, headers=d.headers,
                                 json=new_user("owned@globex.example")), 409, "uniqueness")
    for user_id in (stranger_id, suspended_id):
        user = await User.select().where(User.id == user_id).first()
        assert user["managed_by_organization_id"] is None and user["name"] != "Barbara Jensen"
    assert await AuditEvent.count().where(AuditEvent.action == "scim.user.created") == 1


async def test_a_body_over_one_megabyte_is_413(client, person, clock):
    d = await directory(client, person, clock)
    huge = new_user(title="x" * (1024 * 1024 + 1))
    scim_error(await client.post(USERS, headers=d.headers, json=huge), 413)
    assert await User.count() == 1
