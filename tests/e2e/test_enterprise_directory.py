"""Issue 14 "Done when", end to end on the Procfile's real web (uvicorn) and worker processes
over real HTTP, with a real OpenID provider (oidc-provider-mock) on localhost:

an organization's owner connects the provider and makes a SCIM token, the operator verifies
the organization's email domain (python -m scripts.sso_domain); the directory
provisions Nina by SCIM (name, email and phone then read-only for her); Nina signs in through
the provider (state, nonce, PKCE), the app exchanges the one-time code for a TokenPair with
``amr: ["fed"]`` in the organization's context, and her phone gets its 90-day mobile token;
the directory deactivates her and every token she holds stops working at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.integration.test_create_admin import environment
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, mock_provider
from tests.processes import running_system
from tests.support import PASSWORD, token_of

SCIM_JSON = "application/scim+json"


@pytest.fixture
def provider():
    with mock_provider() as running:
        yield running


@pytest.fixture
def system(smtp, clean) -> Iterator[str]:
    with running_system(smtp[1]) as url:
        yield url


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def owner_headers(api: httpx.Client, mailbox) -> dict[str, str]:
    """Olga registers, verifies her email from the mail the worker sent, signs in."""
    email = "olga@acme.example"
    assert api.post("/v1/auth/register", json={"email": email, "password": PASSWORD,
                                               "name": "Olga"}).status_code == 201
    link = mailbox.wait_for(email, timeout=10.0)[0].links[0]
    assert api.post("/v1/auth/verify-email", json={"token": token_of(link)}).status_code == 200
    pair = api.post("/v1/auth/signin", json={"email": email, "password": PASSWORD}).json()
    return {"authorization": f"Bearer {pair['accessToken']}"}


def sign_in_through_provider(api: httpx.Client, provider, email: str, sub: str) -> dict:
    """What the app and the browser do: start, sign in at the provider, follow its redirect
    to latchkey's callback, take the code from the app's URL, exchange it."""
    start = api.get("/v1/auth/sso/start", params={"email": email})
    assert start.status_code == 302, start.text
    at_provider = httpx.post(start.headers["location"], data={"sub": sub})
    assert at_provider.status_code == 302, at_provider.text[:300]
    back = parse_qs(urlsplit(at_provider.headers["location"]).query)
    callback = api.get("/v1/auth/sso/callback",
                       params={"code": back["code"][0], "state": back["state"][0]})
    assert callback.status_code == 302, callback.text
    landing = urlsplit(callback.headers["location"])
    assert landing.netloc == "app.example.test" and "Token" not in landing.query
    code = parse_qs(landing.query)["code"][0]
    exchanged = api.post("/v1/auth/sso/exchange", json={"code": code,
                                                         "deviceName": "Nina's laptop"})
    assert exchanged.status_code == 200, exchanged.text
    again = api.post("/v1/auth/sso/exchange", json={"code": code})
    assert again.status_code == 400 and again.json()["type"] == "invalid_token"  # single use
    return exchanged.json()


def test_provision_by_scim_sign_in_through_the_provider_and_get_a_mobile_token(
        system, provider, mailbox):
    api = httpx.Client(base_url=system, timeout=15)
    owner = owner_headers(api, mailbox)
    organization = api.post("/v1/organizations", json={"name": "Acme On-Call"},
                            headers=owner).json()["id"]
    connection = api.post(f"/v1/organizations/{organization}/sso", headers=owner, json={
        "issuer": provider.issuer, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "allowedDomains": ["acme.example"]})
    assert connection.status_code == 201, connection.text
    assert "clientSecret" not in connection.json()
    # the operator confirms Acme owns acme.example (out of band), then the provider may vouch
    verified = subprocess.run(
        [sys.executable, "-m", "scripts.sso_domain", "verify", "--organization", organization,
         "acme.example"], env=environment(), stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == "acme.example  verified"
    minted = api.post(f"/v1/organizations/{organization}/scim-tokens", headers=owner,
                      json={"description": "Okta"})
    assert minted.status_code == 201, minted.text
    scim = {"authorization": f"Bearer {minted.json()['token']}", "content-type": SCIM_JSON}

    created = api.post("/scim/v2/Users", headers=scim, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "nina@acme.example", "externalId": "00u1nina",
        "name": {"givenName": "Nina", "familyName": "Okafor"}, "displayName": "Nina Okafor",
        "emails": [{"value": "nina@acme.example", "primary": True, "type": "work"}],
        "phoneNumbers": [{"value": "+14155550123", "type": "mobile"}], "active": True})
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    nina_id = created.json()["id"]

    # Okta's user signs in; the provider says it verified her email and did MFA (not trusted)
    provider_user = {"email": "nina@acme.example", "email_verified": True,
                     "name": "Nina Okafor", "amr": ["pwd", "mfa"]}
    assert httpx.put(f"{provider.issuer}/users/00u1nina", json=provider_user).status_code == 204
    pair = sign_in_through_provider(api, provider, "nina@acme.example", "00u1nina")
    claims = claims_of(pair["accessToken"])
    assert claims["sub"] == nina_id and claims["amr"] == ["fed"]
    assert claims["ctx"] == {"type": "organization", "id": organization}
    assert claims["orgRole"] == "member"
    nina = {"authorization": f"Bearer {pair['accessToken']}"}
    profile = api.get("/v1/auth/profile", headers=nina).json()
    assert profile["managedBy"] == {"type": "scim", "organizationId": organization}
    assert profile["emailVerified"] is True  # the provider proved it at sign-in
    assert profile["phoneNumber"] == "+14155550123" and profile["phoneVerified"] is False
    refused = api.patch("/v1/users/me", headers=nina, json={"name": "Nina O."})
    assert refused.status_code == 409 and refused.json()["type"] == "managed_externally"
    assert api.patch("/v1/users/me", headers=nina, json={"nickname": "Nin"}).status_code == 200

    # her phone gets its 90-day token from this fresh sign-in
    assert api.post("/v1/mobile/enable", headers=nina).status_code == 200
    phone = api.post("/v1/mobile/token", headers=nina,
                     json={"deviceName": "Nina's iPhone", "platform": "ios"})
    assert phone.status_code == 201, phone.text
    phone_claims = claims_of(phone.json()["accessToken"])
    assert phone_claims["amr"] == ["fed"] and phone_claims["ctx"] == claims["ctx"]

    # the directory deactivates her (Okta's shape): every token stops at once
    gone = api.patch(f"/scim/v2/Users/{nina_id}", headers=scim, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert gone.status_code == 200, gone.text
    assert gone.json()["active"] is False
    assert api.get("/v1/auth/profile", headers=nina).status_code == 401
    mobile = {"authorization": f"Bearer {phone.json()['accessToken']}"}
    assert api.get("/v1/auth/profile", headers=mobile).status_code == 401
    assert api.post("/v1/auth/refresh", json={
        "refreshToken": phone.json()["refreshToken"]}).status_code in (401, 403)
