"""The refresh-token cookie of ``refreshTransport: "cookie"``: out of reach of scripts and
of other sites, only sent where it is used, and cleared with the same attributes (OWASP
ASVS 4.0.3 V3.4.1-V3.4.3, V3.4.5; RFC 6265 §4.1.2; API.md conventions)."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx

from tests.security.helpers import new_email, sign_in, verified_account

COOKIE = "latchkey_refresh"


def cookie_of(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    assert COOKIE in jar, response.headers
    return jar


def assert_flags(response: httpx.Response) -> str:
    """Secure (ENVIRONMENT is not development here), HttpOnly, SameSite=Strict, Path
    /v1/auth, no Domain (host-only); returns the cookie's value."""
    morsel = cookie_of(response)[COOKIE]
    assert morsel["secure"] is True, morsel.OutputString()       # ASVS V3.4.1
    assert morsel["httponly"] is True, morsel.OutputString()     # ASVS V3.4.2
    assert morsel["samesite"].lower() == "strict", morsel.OutputString()  # ASVS V3.4.3
    assert morsel["path"] == "/v1/auth", morsel.OutputString()   # ASVS V3.4.5
    assert not morsel["domain"], morsel.OutputString()           # host-only (RFC 6265 §5.3)
    return morsel.value


def test_refresh_cookie_flags_from_sign_in_to_sign_out(api, box):
    """Sign-in sets the cookie (and leaves the refresh token out of the body, where a
    script could read it), refresh rotates it with the same flags, sign-out clears it with
    the same flags so the browser drops it (RFC 6265 §5.3 step 11)."""
    email = new_email("cookie")
    verified_account(api, box, email)
    signin = sign_in(api, email, refreshTransport="cookie")
    assert signin.status_code == 200, signin.text
    assert "refreshToken" not in signin.json()
    first = assert_flags(signin)
    assert first and first not in signin.text

    api.cookies.clear()  # httpx keeps no Secure cookie over http: send it by hand
    rotated = api.post("/v1/auth/refresh", headers={"cookie": f"{COOKIE}={first}"})
    assert rotated.status_code == 200, rotated.text
    second = assert_flags(rotated)
    assert second != first and "refreshToken" not in rotated.json()

    out = api.post("/v1/auth/signout", headers={"cookie": f"{COOKIE}={second}"})
    assert out.status_code == 204
    cleared = cookie_of(out)[COOKIE]
    assert_flags(out)
    assert cleared["max-age"] in ("0", 0) or "1970" in cleared["expires"], cleared.OutputString()
    dead = api.post("/v1/auth/refresh", headers={"cookie": f"{COOKIE}={second}"})
    assert dead.status_code == 401


def test_body_transport_sets_no_cookie(api, box):
    """Without ``refreshTransport: "cookie"`` no cookie is set at all: a non-browser client
    gets its token in the body and nothing in a jar (ASVS V3.4 applies only when asked)."""
    email = new_email("nocookie")
    verified_account(api, box, email)
    signin = sign_in(api, email)
    assert signin.status_code == 200 and signin.json()["refreshToken"]
    assert "set-cookie" not in signin.headers
