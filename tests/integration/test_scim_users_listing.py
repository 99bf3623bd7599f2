"""Listing SCIM Users (RFC 7644 §3.4.2): every filter form a directory sends (Okta:
``userName eq``; Entra ID: ``externalId eq``, ``emails[type eq "work"].value eq``), the
others that are cheap, case rules (§3.4.2.2: userName and emails ignore case, externalId and
id do not), paging (§3.4.2.4), ``attributes``/``excludedAttributes`` (§3.9), and 400
invalidFilter — on the real app and database (SQLite and PostgreSQL run the same SQL)."""

from __future__ import annotations

import pytest

from tests.scim_users_support import USERS, create, directory, new_user, patch_body, scim_error

PEOPLE = [  # userName, externalId, displayName, email
    ("ann@acme.example", "00uAnn", "Ann Archer", None),
    ("bob", "00uBob", "Bob Baker", "bob@acme.example"),
    ("cy@acme.example", None, "Cy 50%_off", None),
]


@pytest.fixture
async def listed(client, person, clock):
    """A directory with its owner and PEOPLE (Bob deactivated); returns (headers, ids)."""
    d = await directory(client, person, clock)
    ids = {"owner": str(d.owner_id)}
    for user_name, external_id, display_name, email in PEOPLE:
        body = new_user(user_name, displayName=display_name,
                        emails=[{"value": email or user_name, "type": "work", "primary": True}])
        if external_id:
            body["externalId"] = external_id
        ids[user_name] = (await create(client, d.headers, body))["id"]
        clock.advance(seconds=1)
    bob = await client.patch(f"{USERS}/{ids['bob']}", headers=d.headers, json=patch_body(
        {"op": "replace", "value": {"active": False}}))
    assert bob.status_code == 200, bob.text
    return d.headers, ids


async def names(client, headers, filter_text: str) -> list[str]:
    response = await client.get(USERS, headers=headers, params={"filter": filter_text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == len(body["Resources"])
    return [r["userName"] for r in body["Resources"]]


@pytest.mark.parametrize(("filter_text", "expected"), [
    ('userName eq "ANN@acme.example"', ["ann@acme.example"]),
    ('userName eq "Bob"', ["bob"]),
    ('userName eq "owner@acme.example"', ["owner@acme.example"]),  # the email, when unset
    ('externalId eq "00uBob"', ["bob"]),
    ('externalId eq "00ubob"', []),  # caseExact
    ('emails.value eq "BOB@acme.example"', ["bob"]),
    ('emails eq "bob@acme.example"', ["bob"]),
    ('emails[type eq "work"].value eq "cy@acme.example"', ["cy@acme.example"]),
    ('emails[type eq "home"].value eq "cy@acme.example"', []),
    ('emails[type eq "work" and value co "ANN"]', ["ann@acme.example"]),
    ('displayName eq "Bob Baker"', ["bob"]),
    ('active eq false', ["bob"]),
    ('active eq true and userName sw "a"', ["ann@acme.example"]),
    ('userName eq "bob" or externalId eq "00uAnn"', ["ann@acme.example", "bob"]),
    ('not (externalId pr)', ["owner@acme.example", "cy@acme.example"]),
    ('not (externalId eq "00uAnn")', ["owner@acme.example", "bob", "cy@acme.example"]),
    ('displayName co "50%_"', ["cy@acme.example"]),  # % and _ match themselves
    ('displayName co "50__"', []),
    ('userName ew ".EXAMPLE"', ["owner@acme.example", "ann@acme.example", "cy@acme.example"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"', ["bob"]),
])
async def test_filters(client, listed, filter_text, expected):
    headers, _ = listed
    assert await names(client, headers, filter_text) == expected


async def test_filter_by_id(client, listed):
    headers, ids = listed
    assert await names(client, headers, f'id eq "{ids["bob"]}"') == ["bob"]
    assert await names(client, headers, 'id eq "nope"') == []


@pytest.mark.parametrize("filter_text", [
    'nickName eq "x"', 'password eq "x"', 'userName eq', 'userName xx "a"',
    'active co "t"', '(userName eq "a"', 'a' * 2001,
])
async def test_a_filter_we_cannot_answer_is_400_invalid_filter(client, listed, filter_text):
    headers, _ = listed
    response = await client.get(USERS, headers=headers, params={"filter": filter_text})
    scim_error(response, 400, "invalidFilter")


async def test_paging(client, listed):
    headers, _ = listed

    async def page(**params):
        response = await client.get(USERS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        return body

    everyone = await page()
    assert [r["userName"] for r in everyone["Resources"]] == [
        "owner@acme.example", "ann@acme.example", "bob", "cy@acme.example"]
    second = await page(startIndex=2, count=2)
    assert (second["totalResults"], second["startIndex"], second["itemsPerPage"]) == (4, 2, 2)
    assert [r["userName"] for r in second["Resources"]] == ["ann@acme.example", "bob"]
    only_total = await page(count=0)
    assert (only_total["totalResults"], only_total["itemsPerPage"]) == (4, 0)
    assert only_total["Resources"] == []
    past = await page(startIndex=9)
    assert (past["totalResults"], past["Resources"]) == (4, [])
    clamped = await page(startIndex=0, count=-3)  # §3.4.2.4: 1 and 0
    assert (clamped["startIndex"], clamped["itemsPerPage"]) == (1, 0)
    assert (await page(count=1000))["itemsPerPage"] == 4
    filtered = await page(filter='active eq true', startIndex=2, count=1)
    assert filtered["totalResults"] == 3
    assert [r["userName"] for r in filtered["Resources"]] == ["ann@acme.example"]
    scim_error(await client.get(USERS, headers=headers, params={"count": "many"}), 400,
               "invalidValue")


async def test_attributes_and_excluded_attributes(client, listed):
    headers, ids = listed
    body = (await client.get(USERS, headers=headers, params={
        "attributes": "userName,emails.value", "filter": 'userName eq "bob"'})).json()
    assert body["Resources"] == [{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": ids["bob"],
        "userName": "bob", "emails": [{"value": "bob@acme.example"}]}]
    one = await client.get(f"{USERS}/{ids['bob']}", headers=headers,
                           params={"excludedAttributes": "emails,name"})
    assert one.status_code == 200
    assert "emails" not in one.json() and "name" not in one.json()
    assert one.json()["userName"] == "bob" and one.headers["etag"]
