"""Hostile but well-formed input gets a 4xx problem+json naming what is wrong, never a 500
(OWASP ASVS 4.0.3 V5.1.4 strongly typed input, V7.4.1 generic errors; API.md: "bad client
input gets a 4xx problem+json")."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.security.helpers import (
    PASSWORD,
    bearer,
    is_problem,
    new_email,
    register,
    sign_in,
    signed_in,
    verified_account,
)

DEPTH = 10_000
NESTED = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "arrays-in-a-field": b'{"email": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "objects-in-an-unknown-field": (b'{"email": "a@example.com", "password": "x", "extra": '
                                    + b'{"a": ' * DEPTH + b"1" + b"}" * DEPTH + b"}"),
}
BODY_ENDPOINTS = ["/v1/auth/register", "/v1/auth/signin", "/v1/auth/refresh",
                  "/v1/auth/password/reset", "/v1/auth/verify-email/resend"]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("kind", list(NESTED))
def test_deeply_nested_json_is_400(api, path, kind):
    """10,000 levels of nesting (RFC 8259 §9: a parser may limit the depth; ASVS V5.1.4,
    V13.2.2 schema before use): a 400 problem+json, not a recursion error and a 500."""
    response = api.post(path, content=NESTED[kind],
                        headers={"content-type": "application/json"})
    assert is_problem(response, 400), (response.status_code, response.text[:300])


@pytest.fixture(scope="module")
def access_token(system: str, smtp) -> str:
    """An access token of a verified account, for the authenticated endpoints."""
    with httpx.Client(base_url=system, timeout=15) as api:
        email = new_email("input")
        verified_account(api, smtp[0], email)
        return signed_in(api, email)["accessToken"]


def test_a_cursor_handed_out_works(api, access_token):
    """The control of the cursor tests (ASVS V5.1.4: valid input passes the same check): a
    page's ``nextCursor`` is accepted."""
    first = api.get("/v1/auth/security-events", params={"limit": 1},
                    headers=bearer(access_token))
    assert first.status_code == 200 and first.json()["nextCursor"], first.text
    second = api.get("/v1/auth/security-events",
                     params={"limit": 1, "cursor": first.json()["nextCursor"]},
                     headers=bearer(access_token))
    assert second.status_code == 200, second.text


def cursor(raw: str) -> str:
    """A cursor of the shape GET /security-events hands out: base64url of
    ``<ISO timestamp>|<event uuid>`` without padding (domain/audit.py)."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("value", [
    cursor(f"9999-12-31T23:59:59-05:00|{uuid.uuid4()}"),  # after UTC: past year 9999
    cursor(f"0001-01-01T00:00:00+05:00|{uuid.uuid4()}"),  # before UTC: before year 1
    cursor(f"2024-02-30T00:00:00+00:00|{uuid.uuid4()}"),  # no such day
    cursor("2024-01-01T00:00:00+00:00|not-a-uuid"),
    cursor("2024-01-01T00:00:00+00:00"),
    cursor("' OR 1=1 --|00000000-0000-0000-0000-000000000000"),
    "%%%not-base64%%%",
    base64.urlsafe_b64encode(b"\xff\xfe\xfd|x").decode(),  # not UTF-8
], ids=["year-10000", "year-0", "feb-30", "bad-uuid", "no-uuid", "sql",
        "not-base64", "not-utf8"])
def test_forged_cursors_are_400_naming_the_cursor(api, access_token, value):
    """A cursor is client input like any other (ASVS V5.1.4, V7.4.1): an edge-of-calendar
    timestamp whose UTC value leaves datetime's range must be a 400 naming ``cursor``."""
    response = api.get("/v1/auth/security-events", params={"cursor": value},
                       headers=bearer(access_token))
    assert is_problem(response, 400), (response.status_code, response.text)
    assert response.json()["errors"][0]["field"] == "cursor"


CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x1f", "\t", "\n", "\r"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_control_characters_in_stored_text_are_400_naming_the_field(api, char):
    """C0 control characters in text that is stored and shown again (ASVS V5.1.4; V5.2.3
    for names that reach a mail; PostgreSQL text cannot hold NUL at all): 400 naming
    ``name`` on register and ``deviceName`` on sign-in."""
    response = register(api, new_email("c0"), name=f"Eve{char}Mallory")
    assert is_problem(response, 400), (response.status_code, response.text)
    assert response.json()["errors"][0]["field"] == "name"
    response = sign_in(api, new_email("c0"), PASSWORD, deviceName=f"laptop{char}x")
    assert is_problem(response, 400), (response.status_code, response.text)
    assert response.json()["errors"][0]["field"] == "deviceName"


def test_printable_unicode_is_accepted(api, box):
    """The control of the test above: text beyond ASCII passes (ASVS V5.3.2: the user's
    characters preserved) and comes back as sent."""
    email, name = new_email("unicode"), "Zoë Ångström 李 🙂"
    verified_account(api, box, email, name=name)
    pair = sign_in(api, email, PASSWORD, deviceName="Zoë's 💻")
    assert pair.status_code == 200, pair.text
    assert pair.json()["user"]["name"] == name
