"""Forged and altered tokens against the real web process: only an HS256 access
token signed with the server's key opens the API (RFC 8725; OWASP ASVS 4.0.3 V3.5.3).

Every refusal is paired with a control: a token built by the same code with the server's key
is accepted (``test_a_token_built_with_the_server_key_is_accepted``), so a refusal is about
the attack, not about a broken forgery.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.embedded_redis import free_port
from tests.security.helpers import (
    JWT_SECRET,
    Victim,
    assert_refused,
    b64url,
    bearer,
    compact_jws,
)

PROFILE = "/v1/auth/profile"
KEY = JWT_SECRET.encode()
HS256 = {"alg": "HS256", "typ": "JWT"}


def fresh(victim: Victim, **changes: Any) -> dict[str, Any]:
    """The victim's claims with a new jti, iat now and exp in 5 minutes, then ``changes``
    (a value of None removes the claim)."""
    now = int(time.time())
    claims = {**victim.claims, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 300}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def test_a_token_built_with_the_server_key_is_accepted(api, victim):
    """Control for every test below: the hand-built HS256 JWS (RFC 7515 §7.1) with the
    server's key and the victim's claims opens the profile."""
    response = api.get(PROFILE, headers=bearer(compact_jws(HS256, fresh(victim), KEY)))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == victim.email


def test_a_token_signed_with_another_key_or_altered_is_refused(api, victim):
    """OWASP ASVS 4.0.3 V3.5.3 (tampering, key substitution); RFC 7515 §5.2 (validation)."""
    assert_refused(api, compact_jws(HS256, fresh(victim), os.urandom(32)))
    header, payload, signature = victim.access.split(".")
    # another user's id under the original signature
    other_payload = compact_jws(HS256, fresh(victim, sub=str(uuid.uuid4())), None).split(".")[1]
    assert_refused(api, f"{header}.{other_payload}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_refused(api, f"{header}.{payload}.{flipped}")
    assert_refused(api, f"{header}.{payload}.")  # signature stripped


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(api, victim, alg):
    """RFC 8725 §2.1 and §3.1 (an allow-list of algorithms, never the header's choice);
    RFC 7518 §3.6 (unsecured JWS); ASVS V3.5.3 (null cipher)."""
    header = {"alg": alg, "typ": "JWT"}
    assert_refused(api, compact_jws(header, fresh(victim), None))
    signature = victim.access.split(".")[2]  # a real signature left on, in case it is skipped
    unsecured = compact_jws(header, fresh(victim), None).rstrip(".")
    assert_refused(api, f"{unsecured}.{signature}")


@pytest.mark.parametrize(("alg", "signed"), [
    ("HS512", "hmac-sha512"),   # the right key, an algorithm outside the allow-list
    ("HS384", "hmac-sha384"),
    ("RS256", "hmac-sha256"),   # key confusion: the HMAC secret taken for an RSA public key
    ("ES256", "random-64"),
    ("PS256", "random-256"),
])
def test_other_algorithms_are_refused(api, victim, alg, signed):
    """RFC 8725 §3.1 (each key used with exactly one algorithm) and §2.1 (the header names
    the algorithm, the attacker writes the header); ASVS V3.5.3."""
    claims = fresh(victim)
    if signed.startswith("hmac-"):
        digest = getattr(hashlib, signed.removeprefix("hmac-"))
        token = compact_jws({"alg": alg, "typ": "JWT"}, claims, KEY, digest)
    else:
        unsigned = compact_jws({"alg": alg, "typ": "JWT"}, claims, None).rstrip(".")
        token = f"{unsigned}.{b64url(os.urandom(int(signed.removeprefix('random-'))))}"
    assert_refused(api, token)


@pytest.fixture
def key_server() -> Iterator[tuple[str, list[str]]]:
    """An attacker's JWKS on loopback: (URL, paths requested). It offers the attacker's
    HMAC key, so fetching it would let any token through."""
    hits: list[str] = []
    body = (b'{"keys": [{"kty": "oct", "kid": "attacker", "k": "'
            + b64url(b"attacker-key").encode() + b'"}]}')

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", hits
    server.shutdown()
    server.server_close()


def test_key_headers_of_the_attacker_are_not_trusted(api, victim, key_server):
    """RFC 8725 §3.10 (do not trust received claims: ``kid`` injection, ``jku``/``x5u``
    fetches are SSRF); RFC 7515 §4.1.2-§4.1.5; ASVS V3.5.3 (key substitution)."""
    url, hits = key_server
    attacker = b"attacker-key"
    attacks = [
        ({"kid": "../../../../../../../dev/null"}, b""),  # a path to an empty key file
        ({"kid": "x' UNION SELECT 'attacker-key' --"}, attacker),  # a key from a query
        ({"jwk": {"kty": "oct", "k": b64url(attacker)}}, attacker),  # the key in the token
        ({"jku": url, "kid": "attacker"}, attacker),
        ({"x5u": url}, attacker),
    ]
    for extra, key in attacks:
        assert_refused(api, compact_jws({**HS256, **extra}, fresh(victim), key))
    assert hits == [], "the server fetched a key URL named in a token"


@pytest.mark.parametrize("changes", [
    {"exp": int(time.time()) - 1, "iat": int(time.time()) - 301},   # RFC 7519 §4.1.4
    {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 3900},  # issued in the future
    {"aud": "someone-else"},   # RFC 7519 §4.1.3, RFC 8725 §3.9
    {"iss": "someone-else"},   # RFC 8725 §3.8
    {"typ": "refresh"},        # RFC 8725 §3.11 explicit typing
    {"typ": None},
    {"sid": None},
    {"exp": None},
    {"sub": "not-a-uuid"},
], ids=["expired", "future-iat", "aud", "iss", "typ-refresh", "no-typ", "no-sid", "no-exp",
        "sub-not-uuid"])
def test_claims_are_checked_even_under_the_right_key(api, victim, changes):
    """RFC 7519 §7.2 step 10 and RFC 8725 §3.8-§3.11: a good signature over wrong claims
    is still refused (an expired token, another audience or issuer, another token type)."""
    claims = fresh(victim)
    claims.update({k: v for k, v in changes.items() if v is not None})
    for name in (k for k, v in changes.items() if v is None):
        claims.pop(name)
    assert_refused(api, compact_jws(HS256, claims, KEY))
