"""Profiles the directory owns (issue 14): for an account an organization's SCIM directory
manages (``users.managed_by_organization_id``, written straight to the database here; SCIM
provisioning sets it and is tested elsewhere), name and phone number are read-only in
latchkey (409 ``managed_externally`` naming them) while nickname and avatar stay the
person's own; the Profile says ``managedBy``."""

from __future__ import annotations

import uuid

from db.tables import User

ME = "/v1/users/me"


async def manage(user_id: uuid.UUID, organization_id: uuid.UUID | None) -> None:
    await User.update({User.managed_by_organization_id: organization_id}).where(
        User.id == user_id)


async def organization(client, headers) -> uuid.UUID:
    answer = await client.post("/v1/organizations", headers=headers, json={"name": "Acme"})
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def test_name_and_phone_are_the_directorys_nickname_and_avatar_the_persons(
        client, person):
    ann_id, ann = await person("ann@example.com", "Ann Lee")
    org = await organization(client, ann)
    assert (await client.patch(ME, headers=ann, json={"phoneNumber": "+14155552671"})
            ).status_code == 200
    await manage(ann_id, org)

    for body, fields in (({"name": "Someone Else"}, ["name"]),
                         ({"phoneNumber": "+14155550000"}, ["phoneNumber"]),
                         ({"phoneNumber": None}, ["phoneNumber"]),
                         ({"name": None}, ["name"]),
                         ({"phoneNumber": "+14155550000", "name": "X", "nickname": "annie"},
                          ["name", "phoneNumber"])):
        refused = await client.patch(ME, headers=ann, json=body)
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["type"] == "managed_externally" and problem["fields"] == fields
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "directory" in problem["detail"]
    profile = (await client.get(ME, headers=ann)).json()
    assert profile["name"] == "Ann Lee" and profile["phoneNumber"] == "+14155552671"
    assert profile["personal"] is None or profile["personal"]["nickname"] is None  # atomic

    # the same values are no change; nickname and avatar are the person's own
    changed = await client.patch(ME, headers=ann, json={
        "name": "Ann Lee", "phoneNumber": "+1 415 555 2671", "nickname": "annie",
        "avatarUrl": "https://cdn.example.com/ann.png"})
    assert changed.status_code == 200, changed.text
    profile = changed.json()
    assert profile["personal"]["nickname"] == "annie"
    assert profile["personal"]["avatarUrl"] == "https://cdn.example.com/ann.png"
    assert profile["managedBy"] == {"type": "scim", "organizationId": str(org)}
    assert (await client.get("/v1/auth/profile", headers=ann)).json()["managedBy"] \
        == {"type": "scim", "organizationId": str(org)}
    assert (await client.get(f"/v1/users/{ann_id}", headers=ann)).json()["managedBy"] \
        == {"type": "scim", "organizationId": str(org)}


async def test_an_account_no_directory_manages_changes_freely(client, person):
    bob_id, bob = await person("bob@example.com", "Bob")
    profile = (await client.get(ME, headers=bob)).json()
    assert profile["managedBy"] is None
    changed = await client.patch(ME, headers=bob,
                                 json={"name": "Robert", "phoneNumber": "+14155552671"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Robert" and changed.json()["managedBy"] is None

    # once the directory lets go, the fields are the person's again
    org = await organization(client, bob)
    await manage(bob_id, org)
    assert (await client.patch(ME, headers=bob, json={"name": "Bobby"})).status_code == 409
    await manage(bob_id, None)
    freed = await client.patch(ME, headers=bob, json={"name": "Bobby"})
    assert freed.status_code == 200 and freed.json()["name"] == "Bobby"
    assert freed.json()["managedBy"] is None
