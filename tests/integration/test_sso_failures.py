"""Every way a single sign-on must fail (issue 14): state missing, unknown, replayed or
expired; ID tokens signed by another key, with a wrong audience, issuer or nonce, expired,
``alg: none`` or HS256 keyed with the public key; the provider's errors; a provider that is
down or hangs. Each is a problem+json naming the check, leaves an ``auth.sso.failed`` event
and changes no account."""

from __future__ import annotations

import dataclasses
import time

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.jwk import RSAKey

from tests.oidc_provider import (
    audited,
    connect,
    counts,
    hanging_issuer,
    mock_provider,
    new_organization,
    query_of,
    refused_issuer,
    scripted_provider,
)
from tests.support import serving


@pytest.fixture
def scripted():
    with scripted_provider() as provider:
        yield provider


@pytest.fixture
async def org(client, person):
    _, headers = await person("owner@example.com")
    return await new_organization(client, headers)


async def begin(client, org):
    start = await client.get("/v1/auth/sso/start", params={"organization": str(org)})
    assert start.status_code == 302, start.text
    return start.headers["location"]


async def through(client, scripted, org):
    """Start, 'sign in' at the scripted provider, call back: latchkey's answer."""
    code, state = scripted.authorize(await begin(client, org))
    return await client.get("/v1/auth/sso/callback", params={"code": code, "state": state})


async def refused(answer, problem, *, status=400):
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == problem
    events = await audited("auth.sso.failed")
    assert events and events[-1]["metadata"]["reason"] == problem
    return events[-1]


def wrong_key(provider):
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": provider.key.kid})


@pytest.mark.parametrize(("shape", "problem"), [
    (wrong_key, "invalid_signature"),
    (lambda p: setattr(p, "sign_with", RSAKey.generate_key(2048, parameters={"kid": "k9"})),
     "invalid_signature"),
    (lambda p: p.claims.update(aud="another-client"), "invalid_audience"),
    (lambda p: p.claims.update(aud=["latchkey-test", "other"], azp="other"),
     "invalid_audience"),
    (lambda p: p.claims.update(iss="https://impostor.example"), "invalid_issuer"),
    (lambda p: p.claims.update(nonce="not-this-sign-in"), "nonce_mismatch"),
    (lambda p: p.claims.update(nonce=None), "nonce_mismatch"),
    (lambda p: p.claims.update(exp=int(time.time()) - 120), "id_token_expired"),
    (lambda p: p.claims.update(iat=int(time.time()) + 600), "invalid_id_token"),
    (lambda p: p.claims.update(sub=None), "invalid_id_token"),
    (lambda p: setattr(p, "alg", "none"), "invalid_id_token"),
    (lambda p: setattr(p, "alg", "HS256"), "invalid_id_token"),
    (lambda p: setattr(p, "token_error", "invalid_grant"), "provider_error"),
])
async def test_bad_id_tokens_are_refused(client, settings, scripted, org, shape, problem):
    await connect(settings, org, scripted.issuer)
    shape(scripted)
    before = await counts()
    event = await refused(await through(client, scripted, org), problem)
    assert event["metadata"]["issuer"] == scripted.issuer and event["organization_id"] == org
    assert await counts() == before


async def test_a_good_scripted_token_is_accepted(client, settings, scripted, org):
    """The control of the test above: the same provider, unchanged, signs people in."""
    await connect(settings, org, scripted.issuer)
    answer = await through(client, scripted, org)
    assert answer.status_code == 302, answer.text
    code = next(iter(scripted.challenges))
    assert create_s256_code_challenge(scripted.verifiers[-1]) == scripted.challenges[code]


async def test_rotated_keys_are_fetched_once_on_an_unknown_kid(client, settings, scripted, org,
                                                               clock):
    await connect(settings, org, scripted.issuer)
    assert (await through(client, scripted, org)).status_code == 302
    assert scripted.jwks_fetches == 1
    scripted.rotate("k2")
    rotated = await through(client, scripted, org)
    assert rotated.status_code == 302, rotated.text
    assert scripted.jwks_fetches == 2
    # a flood of unknown kids does not make latchkey fetch the keys again and again
    scripted.sign_with = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    for _ in range(3):
        await refused(await through(client, scripted, org), "invalid_signature")
    assert scripted.jwks_fetches == 2
    clock.advance(seconds=31)  # then once again, 30 s after the last such fetch
    await refused(await through(client, scripted, org), "invalid_signature")
    await refused(await through(client, scripted, org), "invalid_signature")
    assert scripted.jwks_fetches == 3


async def test_state_missing_unknown_replayed_or_expired(client, settings, scripted, org,
                                                         clock):
    await connect(settings, org, scripted.issuer)
    await refused(await client.get("/v1/auth/sso/callback", params={"code": "x"}),
                  "invalid_state")
    await refused(await client.get("/v1/auth/sso/callback",
                                   params={"code": "x", "state": "nobody-issued-this"}),
                  "invalid_state")
    code, state = scripted.authorize(await begin(client, org))
    first = await client.get("/v1/auth/sso/callback", params={"code": code, "state": state})
    assert first.status_code == 302
    before = await counts()
    await refused(await client.get("/v1/auth/sso/callback",
                                   params={"code": code, "state": state}), "invalid_state")
    code, state = scripted.authorize(await begin(client, org))
    clock.advance(seconds=settings.sso_state_ttl + 1)
    await refused(await client.get("/v1/auth/sso/callback",
                                   params={"code": code, "state": state}), "invalid_state")
    assert await counts() == before


async def test_the_provider_refusing_the_sign_in(client, settings, org):
    with mock_provider() as provider:
        await connect(settings, org, provider.issuer)
        authorization_url = await begin(client, org)
        back = query_of(await provider.login(authorization_url, "x", deny=True))
        assert back["error"] == "access_denied"
        # RFC 6749 §4.1.2.1: the error comes back with the state (the mock leaves it out)
        back.setdefault("state", query_of(authorization_url)["state"])
        before = await counts()
        event = await refused(await client.get("/v1/auth/sso/callback", params=back),
                              "provider_error")
        assert event["metadata"]["providerError"] == "access_denied"
        assert await counts() == before
        # the state is used up by the refusal too
        await refused(await client.get("/v1/auth/sso/callback", params=back), "invalid_state")


async def test_a_provider_that_is_down_gives_502_at_once(client, settings, org):
    from db.tables import SsoLogin

    await connect(settings, org, refused_issuer())
    started = time.monotonic()
    answer = await client.get("/v1/auth/sso/start", params={"organization": str(org)})
    assert answer.status_code == 502 and answer.json()["type"] == "provider_unavailable"
    assert time.monotonic() - started < 2
    assert await SsoLogin.count() == 0


async def test_a_provider_that_hangs_gives_502_within_the_timeout(settings, clock, person):
    quick = dataclasses.replace(settings, oidc_http_timeout=0.5)
    with hanging_issuer() as issuer:
        async with serving(quick, clock, worker=False) as client:
            _, headers = await person("owner@example.com")
            organization = await new_organization(client, headers)
            await connect(quick, organization, issuer)
            started = time.monotonic()
            answer = await client.get("/v1/auth/sso/start",
                                      params={"organization": str(organization)})
            assert answer.status_code == 502 and answer.json()["type"] == "provider_unavailable"
            assert 0.4 < time.monotonic() - started < 2


async def test_a_provider_that_goes_down_after_the_start(client, settings, scripted, org):
    """The token endpoint failing (5xx) is provider_unavailable, audited."""
    await connect(settings, org, scripted.issuer)
    code, state = scripted.authorize(await begin(client, org))
    scripted.token_status = 503
    answer = await client.get("/v1/auth/sso/callback", params={"code": code, "state": state})
    await refused(answer, "provider_unavailable", status=502)


async def test_discovery_must_name_the_configured_issuer(client, settings, scripted, org):
    await connect(settings, org, scripted.issuer)
    scripted.discovery_issuer = "https://someone-else.example"
    answer = await client.get("/v1/auth/sso/start", params={"organization": str(org)})
    assert answer.status_code == 502 and answer.json()["type"] == "provider_unavailable"


async def test_start_needs_a_configured_provider(client, org):
    for params in ({"organization": str(org)}, {"email": "a@unknown.example"}):
        answer = await client.get("/v1/auth/sso/start", params=params)
        assert answer.status_code == 400 and answer.json()["type"] == "sso_not_configured"
    for params in ({}, {"organization": str(org), "email": "a@example.com"},
                   {"email": "not-an-address"}, {"organization": "not-a-uuid"}):
        answer = await client.get("/v1/auth/sso/start", params=params)
        assert answer.status_code == 400, params


@pytest.mark.parametrize(("claims", "accepted"), [
    ({"email_verified": None, "xms_edov": True}, True),  # Entra ID with the optional claim
    ({"email_verified": None}, False),  # Entra ID without it: nothing vouches for the email
    ({"email_verified": False, "xms_edov": True}, False),  # an explicit no wins
    ({"email_verified": None, "xms_edov": False}, False),
])
async def test_entra_domain_owner_verified_stands_in_for_email_verified(
        client, settings, scripted, org, claims, accepted):
    """Microsoft Entra ID sends no ``email_verified`` for work accounts; its optional claim
    ``xms_edov`` (the tenant owns the email's domain) is taken instead, only when
    ``email_verified`` is absent."""
    await connect(settings, org, scripted.issuer)
    scripted.claims.update(claims)
    before = await counts()
    answer = await through(client, scripted, org)
    if accepted:
        assert answer.status_code == 302, answer.text
        assert (await counts())["users"] == before["users"] + 1
    else:
        await refused(answer, "sso_email_unverified")
        assert await counts() == before


async def test_two_first_sign_ins_at_once_make_one_account(client, settings, scripted, org):
    """Two tabs finishing the first sign-in of one person together: both succeed, one account
    and one identity link exist (the unique index refuses the loser's insert; it retries and
    finds the winner's account instead of answering 500)."""
    import asyncio

    await connect(settings, org, scripted.issuer)
    before = await counts()
    first = scripted.authorize(await begin(client, org))
    second = scripted.authorize(await begin(client, org))
    answers = await asyncio.gather(*[
        client.get("/v1/auth/sso/callback", params={"code": code, "state": state})
        for code, state in (first, second)])
    assert [a.status_code for a in answers] == [302, 302], [a.text for a in answers]
    after = await counts()
    assert after["users"] == before["users"] + 1 and after["links"] == before["links"] + 1
