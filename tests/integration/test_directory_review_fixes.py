"""What the review of the enterprise directory found, each fixed and kept fixed (issue 14):

* a provider an organization connected may not create accounts in, link by email or vouch
  for a domain the operator has not verified (anyone can name gmail.com), and ``?email=``
  does not route the domain's people to it;
* the sign-in that links an existing account answers latchkey's own two-factor even when the
  provider's MFA is trusted;
* an erased person's identity link goes with them: provisioned again, they sign in again;
* a profile is the person's again once they leave the organization whose directory managed
  it (left, removed, the organization deleted);
* NUL characters from a SCIM client or an ID token are a 400, never a 500 (PostgreSQL);
* an ID token's ``sub`` longer than 255 characters is refused.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from db.tables import IdentityLink, User
from tests.integration.test_two_factor_challenge import totp_user
from tests.oidc_provider import (
    callback_query,
    connect,
    counts,
    mock_provider,
    scripted_provider,
)
from tests.scim_users_support import (
    USERS,
    create,
    directory,
    join,
    new_user,
    patch_body,
    scim_error,
)


@pytest.fixture
def provider():
    with mock_provider() as running:
        yield running


async def sign_in(client, provider, sub, organization):
    """Start, sign in at the provider, call back: latchkey's callback answer."""
    start = await client.get("/v1/auth/sso/start", params={"organization": organization})
    assert start.status_code == 302, start.text
    back = callback_query(await provider.login(start.headers["location"], sub))
    return await client.get("/v1/auth/sso/callback",
                            params={"code": back["code"][0], "state": back["state"][0]})


async def exchange(client, callback):
    assert callback.status_code == 302, callback.text
    code = parse_qs(urlsplit(callback.headers["location"]).query)["code"][0]
    return await client.post("/v1/auth/sso/exchange", json={"code": code})


async def test_an_unverified_domain_creates_links_and_routes_nothing(
        client, person, clock, settings, provider):
    acme = await directory(client, person, clock)
    await connect(settings, uuid.UUID(acme.organization_id), provider.issuer,
                  domains=("gmail.example",), verified=False)
    await person("victim@gmail.example")
    await provider.set_user("mallory-1", email="new@gmail.example", email_verified=True)
    await provider.set_user("mallory-2", email="victim@gmail.example", email_verified=True)
    before = await counts()
    for sub in ("mallory-1", "mallory-2"):
        answer = await sign_in(client, provider, sub, acme.organization_id)
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == "sso_domain_not_verified"
    assert await counts() == before
    routed = await client.get("/v1/auth/sso/start", params={"email": "victim@gmail.example"})
    assert routed.status_code == 400 and routed.json()["type"] == "sso_not_configured"
    # a directory-made account is not vouched for either: its address stays unverified
    made = await create(client, acme.headers, new_user("sam@gmail.example"))
    await provider.set_user("sam-1", email="sam@gmail.example", email_verified=True)
    answer = await sign_in(client, provider, "sam-1", acme.organization_id)
    assert answer.json()["type"] == "sso_domain_not_verified"
    row = await User.select(User.email_verified_at).where(
        User.id == uuid.UUID(made["id"])).first()
    assert row["email_verified_at"] is None


async def test_linking_an_existing_account_answers_latchkeys_two_factor(
        client, person, clock, settings, provider, mailbox):
    acme = await directory(client, person, clock, owner_email="owner@example.com")
    await connect(settings, uuid.UUID(acme.organization_id), provider.issuer,
                  trust_provider_mfa=True)
    await totp_user(client, mailbox, clock, "tess@example.com")
    tess = await User.select(User.id).where(User.email == "tess@example.com").first()
    await join(clock, acme.organization_id, tess["id"])
    await provider.set_user("tess-1", email="tess@example.com", email_verified=True,
                            amr=["pwd", "mfa"])
    first = await exchange(client, await sign_in(client, provider, "tess-1",
                                                 acme.organization_id))
    assert first.json()["requiresTwoFactor"] is True  # the linking sign-in
    second = await exchange(client, await sign_in(client, provider, "tess-1",
                                                  acme.organization_id))
    assert "accessToken" in second.json()  # linked before: the provider's MFA stands in


async def test_an_erased_person_provisioned_again_signs_in_again(
        client, person, clock, settings, provider):
    acme = await directory(client, person, clock, owner_email="owner@example.com")
    await connect(settings, uuid.UUID(acme.organization_id), provider.issuer)
    await provider.set_user("nina-1", email="nina@example.com", email_verified=True)
    made = await create(client, acme.headers, new_user("nina@example.com"))
    assert (await exchange(client, await sign_in(client, provider, "nina-1",
                                                 acme.organization_id))).status_code == 200
    assert await IdentityLink.count() == 1
    gone = await client.delete(f"{USERS}/{made['id']}", headers=acme.headers)
    assert gone.status_code == 204
    assert await IdentityLink.count() == 0  # erased with the account
    again = await create(client, acme.headers, new_user("nina@example.com"))
    back = await sign_in(client, provider, "nina-1", acme.organization_id)
    assert back.status_code == 302, back.text
    pair = (await exchange(client, back)).json()
    assert pair["user"]["id"] == again["id"] != made["id"]


async def test_the_profile_is_the_persons_again_once_they_leave(client, person, clock):
    acme = await directory(client, person, clock)
    pat_id, pat = await person("pat@acme.example", "Pat")
    await join(clock, acme.organization_id, pat_id)
    adopted = await client.patch(f"{USERS}/{pat_id}", headers=acme.headers, json=patch_body(
        {"op": "replace", "path": "externalId", "value": "00upat"}))
    assert adopted.status_code == 200, adopted.text
    refused = await client.patch("/v1/users/me", headers=pat, json={"name": "Patricia"})
    assert refused.status_code == 409
    left = await client.delete(f"/v1/organizations/{acme.organization_id}/members/{pat_id}",
                               headers=pat)
    assert left.status_code == 204
    profile = (await client.get("/v1/auth/profile", headers=pat)).json()
    assert profile["managedBy"] is None
    assert (await client.patch("/v1/users/me", headers=pat,
                               json={"name": "Patricia"})).status_code == 200

    made = await create(client, acme.headers, new_user("sam@acme.example"))
    deleted = await client.delete(f"/v1/organizations/{acme.organization_id}",
                                  headers=acme.owner)
    assert deleted.status_code == 204
    row = await User.select(User.managed_by_organization_id, User.created_by_scim).where(
        User.id == uuid.UUID(made["id"])).first()
    assert row == {"managed_by_organization_id": None, "created_by_scim": False}


@pytest.mark.parametrize("body", [
    new_user("nul\u0000@acme.example"),
    new_user("ok@acme.example", externalId="x\u0000y"),
    new_user("ok@acme.example", name={"givenName": "A\u0000"}),
])
async def test_nul_characters_from_scim_are_a_400(client, person, clock, body):
    acme = await directory(client, person, clock)
    scim_error(await client.post(USERS, headers=acme.headers, json=body), 400)
    listed = await client.get(USERS, headers=acme.headers,
                              params={"filter": 'userName eq "a\u0000b"'})
    scim_error(listed, 400, "invalidFilter")
    group = await client.post("/scim/v2/Groups", headers=acme.headers, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "On call", "externalId": "g\u0000"})
    scim_error(group, 400)


async def test_an_overlong_sub_or_a_nul_name_is_refused_or_cleaned(client, person, clock,
                                                                   settings):
    acme = await directory(client, person, clock, owner_email="owner@example.com")
    with scripted_provider() as scripted:
        await connect(settings, uuid.UUID(acme.organization_id), scripted.issuer)
        for claims, status in (({"sub": "s" * 256}, 400), ({"name": "Sam\u0000 Nul"}, 302)):
            scripted.claims.update(claims)
            start = await client.get("/v1/auth/sso/start",
                                     params={"organization": acme.organization_id})
            code, state = scripted.authorize(start.headers["location"])
            answer = await client.get("/v1/auth/sso/callback",
                                      params={"code": code, "state": state})
            assert answer.status_code == status, answer.text
            scripted.claims.clear()
    row = await User.select(User.name).where(User.email == "sam@example.com").first()
    assert row["name"] == "Sam Nul"
