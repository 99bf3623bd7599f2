"""Single sign-on through a real OpenID provider (oidc-provider-mock): start -> provider ->
callback -> exchange; identity links, linking by verified email, just-in-time accounts,
the organization's context, PKCE, one-time codes, two-factor (issue 14)."""

from __future__ import annotations

import dataclasses
import uuid

import jwt
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from db.tables import SsoLogin
from tests.integration.test_two_factor_challenge import totp_user
from tests.oidc_provider import (
    CALLBACK,
    CLIENT_ID,
    audited,
    callback_query,
    connect,
    counts,
    mock_provider,
    new_organization,
    query_of,
)
from tests.support import bearer, sign_in

APP = "https://app.example.test/auth/sso"


@pytest.fixture
def provider():
    with mock_provider() as running:
        yield running


async def sso(client, provider, sub, **params):
    """Start (params: organization or email, redirectTo), sign ``sub`` in at the provider,
    and return latchkey's callback response."""
    start = await client.get("/v1/auth/sso/start", params=params)
    assert start.status_code == 302, start.text
    back = callback_query(await provider.login(start.headers["location"], sub))
    return await client.get("/v1/auth/sso/callback",
                            params={"code": back["code"][0], "state": back["state"][0]})


async def exchange(client, callback, **extra):
    assert callback.status_code == 302, callback.text
    return await client.post("/v1/auth/sso/exchange",
                             json={"code": query_of(callback.headers["location"])["code"],
                                   **extra})


async def join(organization, user_id, clock):
    from db.repositories import memberships
    from db.transaction import transaction

    async with transaction():
        await memberships.add(organization_id=organization, user_id=user_id, role="member",
                              now=clock())


async def user_id_of(email):
    from db.repositories import users

    return (await users.get_by_email(email)).id


def claims_of(pair):
    return jwt.decode(pair["accessToken"], options={"verify_signature": False})


@pytest.fixture
async def org(client, person, settings, provider):
    """An organization (owned by someone else) connected to the mock provider for
    example.com."""
    _, headers = await person("owner@example.com")
    organization = await new_organization(client, headers)
    await connect(settings, organization, provider.issuer)
    return organization


async def test_sign_in_creates_a_member_and_opens_a_session_in_the_organization(
        client, org, provider):
    await provider.set_user("ann-1", email="ann@example.com", email_verified=True,
                            name="Ann Example")
    before = await counts()
    start = await client.get("/v1/auth/sso/start", params={"organization": str(org)})
    assert start.status_code == 302
    asked = query_of(start.headers["location"])
    assert start.headers["location"].startswith(provider.issuer + "/oauth2/authorize?")
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == CALLBACK and asked["scope"] == "openid email profile"
    assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 43
    assert asked["nonce"] and asked["nonce"] != asked["state"]
    back = callback_query(await provider.login(start.headers["location"], "ann-1"))
    callback = await client.get("/v1/auth/sso/callback",
                                params={"code": back["code"][0], "state": back["state"][0]})
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"].startswith(APP + "?code=")
    assert callback.headers["cache-control"] == "no-store"
    assert "accessToken" not in callback.headers["location"]
    # PKCE: the verifier sent to the token endpoint is the one the challenge was made of
    [(challenge, method)] = provider.recorder.challenges
    [verifier] = provider.recorder.verifiers
    assert method == "S256" and len(verifier) >= 43
    assert create_s256_code_challenge(verifier) == challenge == asked["code_challenge"]

    answer = await exchange(client, callback)
    assert answer.status_code == 200, answer.text
    pair = answer.json()
    claims = claims_of(pair)
    assert claims["amr"] == ["fed"]
    assert claims["ctx"] == {"type": "organization", "id": str(org)}
    assert claims["orgRole"] == "member"
    profile = (await client.get("/v1/auth/profile", headers=bearer(pair["accessToken"]))).json()
    assert profile["email"] == "ann@example.com" and profile["name"] == "Ann Example"
    assert profile["emailVerified"] is True and profile["accountType"] == "personal"
    assert [(o["id"], o["role"]) for o in profile["organizations"]] == [(str(org), "member")]
    after = await counts()
    assert after["users"] == before["users"] + 1 and after["links"] == before["links"] + 1
    # the account has no usable password: SSO (or a magic link) only
    assert (await sign_in(client, "ann@example.com")).status_code == 401
    [event] = await audited("auth.sso.succeeded")
    assert event["metadata"]["account"] == "created" and event["organization_id"] == org


async def test_the_identity_link_wins_over_a_changed_email(client, org, provider):
    await provider.set_user("ann-2", email="ann@example.com", email_verified=True)
    first = claims_of((await exchange(client, await sso(client, provider, "ann-2",
                                                        organization=str(org)))).json())
    before = await counts()
    await provider.set_user("ann-2", email="ann.renamed@example.com", email_verified=True)
    second = claims_of((await exchange(client, await sso(client, provider, "ann-2",
                                                         email="ann.renamed@example.com")))
                       .json())
    assert second["sub"] == first["sub"]
    after = await counts()
    assert (after["users"], after["links"]) == (before["users"], before["links"])
    [_, event] = await audited("auth.sso.succeeded")
    assert event["metadata"]["account"] == "link"


async def test_a_verified_email_links_the_existing_account(client, org, provider, person,
                                                           clock):
    bob_id, _ = await person("bob@example.com")
    await join(org, bob_id, clock)  # a member already (invited earlier, or by SCIM)
    await provider.set_user("bob-idp", email="bob@example.com", email_verified=True)
    before = await counts()
    pair = (await exchange(client, await sso(client, provider, "bob-idp",
                                             email="bob@example.com"))).json()
    assert claims_of(pair)["sub"] == str(bob_id)
    after = await counts()
    assert after["users"] == before["users"] and after["links"] == before["links"] + 1
    [linked] = await audited("auth.identity.linked")
    assert linked["user_id"] == bob_id and linked["metadata"]["via"] == "email"


async def test_an_organization_provider_never_takes_over_a_non_member_account(
        client, person, settings, provider, clock):
    """allowedDomains is the organization's own word, not proof it owns the domain: Mallory
    creates an organization, connects her own provider for example.com and has it vouch for
    bob@example.com. Bob's account is not linked, his sessions stay his, nothing changes."""
    bob_id, bob = await person("bob@example.com")
    _, mallory = await person("mallory@elsewhere.org")
    organization = await new_organization(client, mallory, name="Totally Example Inc")
    await connect(settings, organization, provider.issuer)
    await provider.set_user("bob-at-mallory", email="bob@example.com", email_verified=True)
    before = await counts()
    start = await client.get("/v1/auth/sso/start", params={"organization": str(organization)})
    back = callback_query(await provider.login(start.headers["location"], "bob-at-mallory"))
    answer = await client.get("/v1/auth/sso/callback",
                              params={"code": back["code"][0], "state": back["state"][0]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "account_not_provisioned"
    assert await counts() == before
    [event] = await audited("auth.sso.failed")
    assert event["user_id"] == bob_id
    assert (await client.get("/v1/auth/profile", headers=bob)).status_code == 200


@pytest.mark.parametrize(("claims", "jit", "problem"), [
    ({"email": "eve@example.com", "email_verified": False}, True, "sso_email_unverified"),
    ({"email": "eve@example.com"}, True, "sso_email_unverified"),
    ({"email": "eve@elsewhere.org", "email_verified": True}, True, "sso_domain_not_allowed"),
    ({"email": "eve@example.com", "email_verified": True}, False, "account_not_provisioned"),
])
async def test_refusals_change_no_account(client, person, settings, provider, claims, jit,
                                          problem):
    _, headers = await person("owner@example.com")
    organization = await new_organization(client, headers)
    await connect(settings, organization, provider.issuer, jit=jit)
    if claims["email"] == "eve@example.com" and "email_verified" not in claims:
        await person("eve@example.com")  # an account the unverified claim must not take
    await provider.set_user("eve-1", **claims)
    before = await counts()
    answer = await sso(client, provider, "eve-1", organization=str(organization))
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == problem
    assert await counts() == before
    [event] = await audited("auth.sso.failed")
    assert event["metadata"]["reason"] == problem
    assert event["metadata"]["issuer"] == provider.issuer
    assert event["organization_id"] == organization


async def test_the_one_time_code_works_once_and_for_60_seconds(client, org, provider, clock):
    await provider.set_user("cy-1", email="cy@example.com", email_verified=True)
    callback = await sso(client, provider, "cy-1", organization=str(org))
    assert (await exchange(client, callback)).status_code == 200
    again = await exchange(client, callback)
    assert again.status_code == 400 and again.json()["type"] == "invalid_token"
    late = await sso(client, provider, "cy-1", organization=str(org))
    clock.advance(seconds=61)
    expired = await exchange(client, late)
    assert expired.status_code == 400 and expired.json()["type"] == "token_expired"
    assert (await exchange(client, late)).json()["type"] == "invalid_token"


async def test_redirect_to_must_be_allowed(client, org, provider):
    refused = ["https://evil.example/auth/sso", APP + "/../x", APP + "#frag",
               "https://app.example.test@evil.example/auth/sso", APP.upper(),
               "//evil.example/auth/sso", APP + "/", "javascript:alert(1)"]
    for target in refused:
        answer = await client.get("/v1/auth/sso/start",
                                  params={"organization": str(org), "redirectTo": target})
        assert answer.status_code == 400, target
        assert answer.json()["type"] == "redirect_not_allowed", target
    assert await SsoLogin.count() == 0
    await provider.set_user("di-1", email="di@example.com", email_verified=True)
    callback = await sso(client, provider, "di-1", organization=str(org),
                         redirectTo=APP + "?next=/inbox&code=forged")
    location = callback.headers["location"]
    assert location.startswith(APP + "?next=%2Finbox&code=") and "forged" not in location


async def test_two_factor_still_applies_and_opens_the_organization_context(
        client, org, provider, mailbox, clock):
    app, _ = await totp_user(client, mailbox, clock, "tina@example.com")
    await join(org, await user_id_of("tina@example.com"), clock)
    await provider.set_user("tina-1", email="tina@example.com", email_verified=True,
                            amr=["pwd", "mfa"])  # not trusted: latchkey asks its own
    answer = await exchange(client, await sso(client, provider, "tina-1",
                                              organization=str(org)))
    assert answer.status_code == 200, answer.text
    required = answer.json()
    assert required["requiresTwoFactor"] is True and "totp" in required["twoFactorMethods"]
    verified = await client.post("/v1/auth/two-factor/challenge/verify", json={
        "twoFactorToken": required["twoFactorToken"], "method": "totp",
        "code": app.at(clock.now)})
    assert verified.status_code == 200, verified.text
    claims = claims_of(verified.json())
    assert claims["amr"] == ["fed", "otp"]
    assert claims["ctx"] == {"type": "organization", "id": str(org)}
    assert claims["orgRole"] == "member"


async def test_trusted_provider_mfa_stands_in_for_the_challenge(
        client, person, settings, provider, mailbox, clock):
    await totp_user(client, mailbox, clock, "uma@example.com")
    _, headers = await person("owner@example.com")
    organization = await new_organization(client, headers)
    await connect(settings, organization, provider.issuer, trust_provider_mfa=True)
    await join(organization, await user_id_of("uma@example.com"), clock)
    await provider.set_user("uma-1", email="uma@example.com", email_verified=True,
                            amr=["pwd"])  # a password alone is no second factor
    first = (await exchange(client, await sso(client, provider, "uma-1",
                                              organization=str(organization)))).json()
    assert first["requiresTwoFactor"] is True
    await provider.set_user("uma-1", email="uma@example.com", email_verified=True,
                            amr=["pwd", "otp"])
    pair = (await exchange(client, await sso(client, provider, "uma-1",
                                             organization=str(organization)))).json()
    assert claims_of(pair)["amr"] == ["fed", "mfa"]
    assert claims_of(pair)["ctx"]["id"] == str(organization)


async def test_suspended_members_and_deactivated_accounts_are_refused(
        client, org, provider, person):
    from db.tables import Membership, User

    await provider.set_user("sue-1", email="sue@example.com", email_verified=True)
    pair = (await exchange(client, await sso(client, provider, "sue-1",
                                             organization=str(org)))).json()
    user_id = uuid.UUID(claims_of(pair)["sub"])
    await Membership.update({Membership.status: "suspended"}).where(
        Membership.user_id == user_id)
    suspended = await sso(client, provider, "sue-1", organization=str(org))
    assert suspended.status_code == 403 and suspended.json()["type"] == "authorization_denied"
    await User.update({User.is_active: False}).where(User.id == user_id)
    disabled = await sso(client, provider, "sue-1", organization=str(org))
    assert disabled.status_code == 403 and disabled.json()["type"] == "account_disabled"
    reasons = [(e["metadata"]["reason"], e["user_id"]) for e in await audited("auth.sso.failed")]
    assert reasons == [("authorization_denied", user_id), ("account_disabled", user_id)]


async def test_the_deployment_wide_provider_signs_in_by_email_domain(
        settings, clock, provider):
    from tests.support import serving

    deployment = dataclasses.replace(
        settings, oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
        oidc_client_secret="deployment-secret", oidc_allowed_domains="corp.example")
    async with serving(deployment, clock, worker=False) as client:
        unknown = await client.get("/v1/auth/sso/start", params={"email": "x@nowhere.example"})
        assert unknown.status_code == 400 and unknown.json()["type"] == "sso_not_configured"
        await provider.set_user("dee-1", email="dee@corp.example", email_verified=True)
        pair = (await exchange(client, await sso(client, provider, "dee-1",
                                                 email="dee@corp.example"))).json()
        claims = claims_of(pair)
        assert claims["amr"] == ["fed"] and "ctx" not in claims
        assert pair["user"]["organizations"] == []
