"""An organization's identity provider as its owners and admins manage it (issue 14,
``CRUD /v1/organizations/{id}/sso``): connected over the API, people sign in through it with a
real OpenID provider (oidc-provider-mock); roles; every rule of every field; the secret
encrypted at rest and never in a response or the audit trail; one organization per email
domain, also when two claim one at the same moment; deletion with the organization."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from db.repositories import memberships
from db.tables import AuditEvent, ScimToken, SsoConnection, SsoDomain
from db.transaction import transaction
from domain.directory.connection_rules import check_issuer
from domain.encryption import SecretBox
from domain.settings import Settings
from tests.integration.test_sso_flow import exchange, sso
from tests.oidc_provider import CLIENT_SECRET, mock_provider

ORGS = "/v1/organizations"
SECRET = "pl41n-t3xt-client-secret-never-shown"


@pytest.fixture
def provider():
    with mock_provider() as running:
        yield running


def body(issuer: str = "https://acme.okta.com", **extra) -> dict:
    return {"issuer": issuer, "clientId": "latchkey-test", "clientSecret": SECRET,
            "allowedDomains": ["example.com"], **extra}


async def organization(client, headers, name="Acme") -> str:
    answer = await client.post(ORGS, headers=headers, json={"name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def join(clock, organization_id: str, user_id: uuid.UUID, role: str) -> None:
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


async def stored_secret(organization_id: str) -> str:
    row = await SsoConnection.select(SsoConnection.client_secret_encrypted).where(
        SsoConnection.organization_id == uuid.UUID(organization_id)).first()
    return row["client_secret_encrypted"]


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.user_id, AuditEvent.actor_id,
                                   AuditEvent.organization_id, AuditEvent.metadata).where(
        AuditEvent.action == action).order_by(AuditEvent.created_at)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows


async def test_an_admin_connects_the_provider_and_people_sign_in_through_it(
        client, person, clock, settings, provider):
    _, owner = await person("owner@example.com")
    admin_id, admin = await person("ada@example.com")
    org = await organization(client, owner)
    await join(clock, org, admin_id, "admin")
    sso_path = f"{ORGS}/{org}/sso"
    answers = []
    made = await client.post(sso_path, headers=admin, json={
        **body(provider.issuer, clientSecret=CLIENT_SECRET),
        "allowedDomains": ["@Example.COM", "example.com", "acme.example"]})
    assert made.status_code == 201, made.text
    answers.append(made)
    connection = made.json()
    assert set(connection) == {"id", "organizationId", "issuer", "clientId", "allowedDomains",
                               "verifiedDomains", "trustProviderMfa", "jitProvisioning",
                               "redirectUri", "createdAt", "updatedAt"}
    assert connection["verifiedDomains"] == []
    assert connection["organizationId"] == org and connection["issuer"] == provider.issuer
    assert connection["allowedDomains"] == ["acme.example", "example.com"]
    assert connection["trustProviderMfa"] is False and connection["jitProvisioning"] is True
    assert connection["redirectUri"] == settings.sso_redirect_uri \
        == "https://app.example.test/v1/auth/sso/callback"
    read = await client.get(sso_path, headers=owner)
    assert read.status_code == 200 and read.json() == connection
    answers.append(read)

    # the stored secret is ciphertext that decrypts back, and the provider accepts it
    stored = await stored_secret(org)
    assert CLIENT_SECRET not in stored and SecretBox(settings).decrypt(stored) == CLIENT_SECRET
    await provider.set_user("ann-1", email="ann@example.com", email_verified=True)
    # the organization's word for example.com is not proof: no account is made there
    unverified = await client.get("/v1/auth/sso/callback", params=await _provider_callback(
        client, provider, "ann-1", org))
    assert unverified.status_code == 400
    assert unverified.json()["type"] == "sso_domain_not_verified"
    await _verify(settings, org, "example.com")  # as python -m scripts.sso_domain verify
    signed_in = await exchange(client, await sso(client, provider, "ann-1", organization=org))
    assert signed_in.status_code == 200, signed_in.text

    clock.advance(seconds=5)
    changed = await client.patch(sso_path, headers=admin, json={
        "allowedDomains": ["acme.example"], "trustProviderMfa": True,
        "jitProvisioning": False, "clientSecret": SECRET})
    assert changed.status_code == 200, changed.text
    answers.append(changed)
    after = changed.json()
    assert after["allowedDomains"] == ["acme.example"] and after["trustProviderMfa"] is True
    assert after["jitProvisioning"] is False and after["issuer"] == provider.issuer
    assert after["createdAt"] == connection["createdAt"]
    assert after["updatedAt"] > connection["updatedAt"]
    assert SecretBox(settings).decrypt(await stored_secret(org)) == SECRET
    assert (await client.patch(sso_path, headers=admin, json={})).json() == after
    # another issuer is another provider: the operator's verification does not carry over
    await _verify(settings, org, "acme.example")
    moved = await client.patch(sso_path, headers=admin, json={
        "issuer": "https://idp.elsewhere.example"})
    assert moved.status_code == 200 and moved.json()["verifiedDomains"] == []
    await client.patch(sso_path, headers=admin, json={"issuer": provider.issuer})

    assert (await client.delete(sso_path, headers=admin)).status_code == 204
    gone = await client.get(sso_path, headers=admin)
    assert gone.status_code == 404 and gone.json()["type"] == "not_found"
    assert (await client.delete(sso_path, headers=admin)).status_code == 404
    start = await client.get("/v1/auth/sso/start", params={"organization": org})
    assert start.status_code == 400 and start.json()["type"] == "sso_not_configured"
    assert await SsoDomain.count() == 0

    # the secret is in no response and in no audit event; each event names the organization
    for answer in answers:
        assert SECRET not in answer.text and CLIENT_SECRET not in answer.text
        assert "secret" not in answer.text.lower()
    created, = await events("organization.sso.created")
    updated, *_ = await events("organization.sso.updated")
    deleted, = await events("organization.sso.deleted")
    for event in (created, updated, deleted):
        assert event["actor_id"] == admin_id and event["organization_id"] == uuid.UUID(org)
        assert SECRET not in json.dumps(event["metadata"])
        assert CLIENT_SECRET not in json.dumps(event["metadata"])
    assert created["metadata"]["allowed_domains"] == ["acme.example", "example.com"]
    assert updated["metadata"]["fields"] == ["allowed_domains", "client_secret",
                                             "jit_provisioning", "trust_provider_mfa"]
    feed = await client.get(f"{ORGS}/{org}/events", headers=owner)
    assert {"organization.sso.created", "organization.sso.updated",
            "organization.sso.deleted"} <= {e["action"] for e in feed.json()["items"]}
    assert SECRET not in feed.text and CLIENT_SECRET not in feed.text


async def test_owners_and_admins_only_and_outsiders_see_nothing(client, person, clock):
    _, owner = await person("owner@example.com")
    member_id, member = await person("mia@example.com")
    _, outsider = await person("otto@example.com")
    org = await organization(client, owner)
    await join(clock, org, member_id, "member")
    sso_path = f"{ORGS}/{org}/sso"
    assert (await client.post(sso_path, headers=owner, json=body())).status_code == 201

    for headers, status in ((member, 403), (outsider, 404)):
        answers = [await client.post(sso_path, headers=headers, json=body()),
                   await client.get(sso_path, headers=headers),
                   await client.patch(sso_path, headers=headers, json={"clientId": "x"}),
                   await client.delete(sso_path, headers=headers)]
        assert [a.status_code for a in answers] == [status] * 4, [a.text for a in answers]
        assert all("acme.okta.com" not in a.text for a in answers)
    for path in (f"{ORGS}/{uuid.uuid4()}/sso", f"{ORGS}/not-a-uuid/sso"):
        assert (await client.get(path, headers=owner)).status_code == 404
    assert (await client.get(sso_path)).status_code == 401
    assert (await client.get(sso_path, headers=owner)).json()["clientId"] == "latchkey-test"


async def fields_of(answer) -> list[str]:
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "validation_failed"
    return [e["field"] for e in answer.json()["errors"]]


async def test_every_field_is_checked_and_each_bad_one_named(client, person):
    _, owner = await person("owner@example.com")
    sso_path = f"{ORGS}/{await organization(client, owner)}/sso"

    async def refused(payload, method="post") -> list[str]:
        return await fields_of(await getattr(client, method)(sso_path, headers=owner,
                                                            json=payload))

    assert await refused({}) == ["issuer", "clientId", "clientSecret", "allowedDomains"]
    for issuer in ("acme.okta.com", "ftp://acme.okta.com", "http://acme.okta.com",
                   "https://", "https://acme.okta.com/?tenant=1", "https://acme.okta.com/#x",
                   "https://user:pw@acme.okta.com", "https://acme.okta.com:99999",
                   "https://acme okta.com", "https://acme.okta.com/\x00",
                   "https://acme.okta.com/" + "a" * 500, ""):
        assert await refused(body(issuer)) == ["issuer"], issuer
    for client_id in ("", "   ", "x" * 256, "id\x01"):
        assert await refused(body(clientId=client_id)) == ["clientId"], client_id
    for secret in ("", "  ", "s" * 1001, "s\x00s"):
        assert await refused(body(clientSecret=secret)) == ["clientSecret"]
    assert await refused(body(allowedDomains=[])) == ["allowedDomains"]
    assert await refused(body(allowedDomains=[f"d{n}.example" for n in range(51)])) \
        == ["allowedDomains"]
    bad = ["example", "-acme.com", "acme-.com", "a..com", "1.2.3.4", "acme_corp.com",
           "ex ample.com", "bücher.example", "a" * 64 + ".com", ("a" * 60 + ".") * 5 + "com",
           "", "@"]
    assert await refused(body(allowedDomains=["ok.example", *bad])) \
        == [f"allowedDomains[{n}]" for n in range(1, len(bad) + 1)]
    assert await refused(body("ftp://x", clientId="", clientSecret="",
                              allowedDomains=["nope"])) \
        == ["issuer", "clientId", "clientSecret", "allowedDomains[0]"]
    for wrong_type in ({"issuer": 5}, {"allowedDomains": "example.com"},
                       {"trustProviderMfa": "yes"}, {"jitProvisioning": [True]}):
        answer = await client.post(sso_path, headers=owner, json=body(**wrong_type))
        assert answer.status_code == 400, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [next(iter(wrong_type))]
    assert await SsoConnection.count() == 0

    # accepted: a trailing slash kept exactly, http on the loopback outside production,
    # an xn-- name, a trailing dot dropped
    made = await client.post(sso_path, headers=owner, json=body(
        "https://login.example.com/tenant/v2.0/", allowedDomains=["xn--bcher-kva.example."]))
    assert made.status_code == 201, made.text
    assert made.json()["issuer"] == "https://login.example.com/tenant/v2.0/"
    assert made.json()["allowedDomains"] == ["xn--bcher-kva.example"]
    assert await refused({"clientSecret": ""}, "patch") == ["clientSecret"]
    assert await refused({"allowedDomains": [], "issuer": "http://x.example"}, "patch") \
        == ["issuer", "allowedDomains"]
    assert (await client.patch(sso_path, headers=owner, json={"clientSecret": None})
            ).status_code == 200  # null: unchanged
    local = await client.patch(sso_path, headers=owner,
                               json={"issuer": "http://localhost:8080/realms/acme"})
    assert local.status_code == 200, local.text
    assert (await client.get(sso_path, headers=owner)).json()["issuer"] \
        == "http://localhost:8080/realms/acme"


def test_http_issuers_are_refused_in_production():
    for environment, refused in (("production", True), ("development", False)):
        problems: list[tuple[str, str]] = []
        check_issuer(Settings(environment=environment), "http://127.0.0.1:8080", problems)
        assert bool(problems) is refused


async def test_an_email_domain_belongs_to_one_organization(client, person):
    _, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    acme = f"{ORGS}/{await organization(client, ann, 'Acme')}/sso"
    globex = f"{ORGS}/{await organization(client, bob, 'Globex')}/sso"
    assert (await client.post(acme, headers=ann, json=body(
        allowedDomains=["example.com", "acme.example"]))).status_code == 201
    again = await client.post(acme, headers=ann, json=body(allowedDomains=["other.example"]))
    assert again.status_code == 409 and again.json()["type"] == "sso_connection_exists"

    taken = await client.post(globex, headers=bob, json=body(
        allowedDomains=["globex.example", "ACME.example"]))
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"] == "domain_taken" and "acme.example" in taken.json()["detail"]
    assert (await client.post(globex, headers=bob, json=body(
        allowedDomains=["globex.example"]))).status_code == 201
    grab = await client.patch(globex, headers=bob,
                              json={"allowedDomains": ["globex.example", "example.com"]})
    assert grab.status_code == 409 and grab.json()["type"] == "domain_taken"
    assert (await client.get(globex, headers=bob)).json()["allowedDomains"] == ["globex.example"]
    # its own domains are no conflict; given up, a domain is free for another organization
    kept = await client.patch(acme, headers=ann, json={"allowedDomains": ["example.com"]})
    assert kept.status_code == 200, kept.text
    moved = await client.patch(globex, headers=bob,
                               json={"allowedDomains": ["globex.example", "acme.example"]})
    assert moved.status_code == 200, moved.text


async def test_two_organizations_claiming_one_domain_at_once(client, person):
    """Each holds only its own organization's lock: the unique index decides (PostgreSQL),
    and the loser gets 409 domain_taken, never a 500."""
    claimants = []
    for n in range(6):
        _, headers = await person(f"owner{n}@example.com")
        claimants.append((f"{ORGS}/{await organization(client, headers, f'Org {n}')}/sso",
                          headers))
    answers = await asyncio.gather(*[client.post(path, headers=headers, json=body(
        allowedDomains=[f"own{n}.example", "contested.example"]))
        for n, (path, headers) in enumerate(claimants)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 5, [a.text for a in answers]
    assert {a.json()["type"] for a in answers if a.status_code == 409} == {"domain_taken"}
    assert await SsoConnection.count() == 1 and await SsoDomain.count() == 2


async def test_deleting_the_organization_deletes_its_provider_domains_and_tokens(
        client, person):
    _, owner = await person("owner@example.com")
    org = await organization(client, owner)
    other = await organization(client, owner, "Other")
    for organization_id, domain in ((org, "example.com"), (other, "other.example")):
        assert (await client.post(f"{ORGS}/{organization_id}/sso", headers=owner,
                                  json=body(allowedDomains=[domain]))).status_code == 201
        assert (await client.post(f"{ORGS}/{organization_id}/scim-tokens",
                                  headers=owner)).status_code == 201
    assert (await client.delete(f"{ORGS}/{org}", headers=owner)).status_code == 204
    left = await SsoConnection.select(SsoConnection.organization_id)
    assert [row["organization_id"] for row in left] == [uuid.UUID(other)]
    assert [row["domain"] for row in await SsoDomain.select(SsoDomain.domain)] \
        == ["other.example"]
    tokens = await ScimToken.select(ScimToken.organization_id)
    assert [row["organization_id"] for row in tokens] == [uuid.UUID(other)]
    # the domain is free again
    third = await organization(client, owner, "Third")
    assert (await client.post(f"{ORGS}/{third}/sso", headers=owner,
                              json=body())).status_code == 201


async def _provider_callback(client, provider, sub, org) -> dict:
    """Start, sign ``sub`` in at the provider: the query latchkey's callback receives."""
    from tests.oidc_provider import callback_query

    start = await client.get("/v1/auth/sso/start", params={"organization": org})
    back = callback_query(await provider.login(start.headers["location"], sub))
    return {"code": back["code"][0], "state": back["state"][0]}


async def _verify(settings, org, domain) -> None:
    from domain.directory.domain_verification import set_verified
    from domain.services import RequestInfo
    from scripts.bootstrap import bootstrap

    container = await bootstrap(settings, pool_size=1)
    try:
        made = await set_verified(container.services, org, domain, verified=True,
                                  info=RequestInfo())
        assert domain in made.verified_domains
    finally:
        await container.close()
