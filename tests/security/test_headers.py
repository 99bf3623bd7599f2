"""Security headers on every response of the real web process (OWASP ASVS 4.0.3 V14.4,
V8.2.1): nosniff and no-referrer everywhere, no framing and no caching on the API, HSTS when
the public URL is https (RFC 6797) and the operator has not turned it off."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.security.helpers import (
    PASSWORD,
    new_email,
    sign_in,
    signed_in,
    verified_account,
    web_only,
)

Request = Callable[[httpx.Client], httpx.Response]
# Answers of every kind: success, each error status, outside /v1/ and inside it.
REQUESTS: dict[str, Request] = {
    "health": lambda c: c.get("/health"),
    "404": lambda c: c.get("/no/such/page"),
    "404-api": lambda c: c.get("/v1/auth/no-such-endpoint"),
    "405": lambda c: c.delete("/v1/auth/signin"),
    "400": lambda c: c.post("/v1/auth/signin", content=b"{oops",
                            headers={"content-type": "application/json"}),
    "401": lambda c: c.get("/v1/auth/profile"),
    "401-signin": lambda c: sign_in(c, new_email("nobody"), PASSWORD),
    "415": lambda c: c.post("/v1/auth/signin", content=b"{}",
                            headers={"content-type": "text/plain"}),
}
YEAR = 31_536_000  # seconds; OWASP ASVS 5.0 V3.4.1 asks HSTS for at least one year


def hsts_max_age(response: httpx.Response) -> int | None:
    value = response.headers.get("strict-transport-security")
    if value is None:
        return None
    directives = dict(d.strip().partition("=")[::2] for d in value.lower().split(";"))
    return int(directives["max-age"])


@pytest.mark.parametrize("name", list(REQUESTS))
def test_every_response_has_nosniff_no_referrer_and_hsts(api, name):
    """ASVS V14.4.4 (nosniff on all responses), V14.4.6 (Referrer-Policy: tokens travel in
    links), V14.4.5 + RFC 6797 §6.1 (HSTS, APP_URL is https here) — also on 404s and
    errors, which are what a scanner meets first."""
    response = REQUESTS[name](api)
    assert response.headers.get("x-content-type-options") == "nosniff", response.headers
    assert response.headers.get("referrer-policy") == "no-referrer", response.headers
    assert (hsts_max_age(response) or 0) >= YEAR, response.headers
    assert "includesubdomains" in response.headers["strict-transport-security"].lower()


@pytest.mark.parametrize("name", [n for n in REQUESTS if n not in ("health", "404")])
def test_api_responses_cannot_be_framed_or_cached(api, name):
    """ASVS V14.4.7 (X-Frame-Options DENY and CSP frame-ancestors 'none'), V14.4.3 (a CSP),
    V8.2.1 + RFC 9111 §5.2.2.5 (no-store: an API answer may hold a token or a secret)."""
    response = REQUESTS[name](api)
    assert response.headers.get("x-frame-options", "").upper() == "DENY", response.headers
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, response.headers
    assert "no-store" in response.headers.get("cache-control", ""), response.headers
    assert response.headers.get("pragma") == "no-cache", response.headers


def test_responses_carrying_tokens_are_not_stored(api, box):
    """RFC 6749 §5.1 (a token response carries Cache-Control: no-store and Pragma:
    no-cache), RFC 9111 §5.2.2.5; ASVS V8.2.1: sign-in and refresh, body and cookie."""
    email = new_email("cache")
    verified_account(api, box, email)
    pair = signed_in(api, email)
    answers = [sign_in(api, email),
               sign_in(api, email, refreshTransport="cookie"),
               api.post("/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]})]
    for response in answers:
        assert response.status_code == 200, response.text
        assert "no-store" in response.headers.get("cache-control", ""), response.headers
        assert response.headers.get("pragma") == "no-cache", response.headers


@pytest.fixture(scope="module")
def hsts_off(emptied: None) -> Iterator[str]:
    with web_only(HSTS="off") as url:
        yield url


@pytest.fixture(scope="module")
def plain_http(emptied: None) -> Iterator[str]:
    with web_only(APP_URL="http://localhost:8000") as url:
        yield url


@pytest.mark.parametrize("which", ["hsts_off", "plain_http"])
def test_no_hsts_when_turned_off_or_not_https(request, which):
    """RFC 6797 §7.2 (HSTS is for hosts served over TLS) and the HSTS setting (a site not yet
    fully on https must be able to leave it out); the other headers stay."""
    with httpx.Client(base_url=request.getfixturevalue(which), timeout=15) as client:
        for name in ("health", "404", "401"):
            response = REQUESTS[name](client)
            assert "strict-transport-security" not in response.headers, (name, response.headers)
            assert response.headers.get("x-content-type-options") == "nosniff"
            assert response.headers.get("referrer-policy") == "no-referrer"
