"""Token-kind confusion against the real web process: each token opens only the door it
was made for (RFC 8725 §2.8 cross-JWT confusion and §3.12 mutually exclusive validation
rules; OWASP ASVS 4.0.3 V3.5.3). The victim's access token is a JWT; refresh, verification
and reset tokens are opaque 256-bit secrets of one purpose each."""

from __future__ import annotations

from typing import NamedTuple

import httpx
import pytest

from scripts.mailbox import Mailbox
from tests.security.helpers import (
    Victim,
    assert_refused,
    bearer,
    is_problem,
    new_email,
    register,
    token_of,
)


class OneTime(NamedTuple):
    verify: str  # from the verification mail, unused
    reset: str   # from the password reset mail, unused


@pytest.fixture(scope="module")
def one_time(system: str, smtp: tuple[Mailbox, int]) -> OneTime:
    """A fresh unverified account's verification and reset tokens, as mailed."""
    box, email = smtp[0], new_email("kinds")
    with httpx.Client(base_url=system, timeout=15) as api:
        assert register(api, email).status_code == 201
        assert api.post("/v1/auth/password/forgot", json={"email": email}).status_code == 200
    verify = box.wait_for(email, subject="Verify your email address")[0].links[0]
    reset = box.wait_for(email, subject="Reset your password")[0].links[0]
    return OneTime(token_of(verify), token_of(reset))


def test_only_access_tokens_are_bearer_tokens(api, victim: Victim, one_time: OneTime):
    """RFC 6750 §3.1 ``invalid_token`` for a refresh, verification or reset token sent as
    Bearer (RFC 8725 §3.12; ASVS V3.5.3)."""
    for token in (victim.refresh, one_time.verify, one_time.reset):
        assert_refused(api, token)


def test_only_refresh_tokens_refresh(api, victim: Victim, one_time: OneTime):
    """An access, verification or reset token is no refresh token, in the body or in the
    refresh cookie (RFC 8725 §2.8; RFC 6749 §6: refresh needs a refresh token)."""
    for token in (victim.access, one_time.verify, one_time.reset):
        response = api.post("/v1/auth/refresh", json={"refreshToken": token})
        assert response.status_code in (400, 401), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        in_cookie = api.post("/v1/auth/refresh", headers={"cookie": f"latchkey_refresh={token}"})
        assert is_problem(in_cookie, 401), in_cookie.text


def test_one_time_tokens_serve_their_own_purpose_only(api, victim: Victim, one_time: OneTime):
    """A reset token does not verify an address, a verification token does not reset a
    password, and neither does a refresh token (ASVS V2.5.x single-purpose recovery
    secrets; RFC 8725 §3.12); the refusals use nothing up."""
    for token in (one_time.reset, victim.refresh, victim.access.split(".")[2]):
        response = api.post("/v1/auth/verify-email", json={"token": token})
        assert is_problem(response, 400) and response.json()["type"] == "invalid_token"
    for token in (one_time.verify, victim.refresh):
        response = api.post("/v1/auth/password/reset",
                            json={"token": token, "newPassword": "an entirely new passphrase"})
        assert is_problem(response, 400) and response.json()["type"] == "invalid_token"
    assert api.post("/v1/auth/verify-email", json={"token": one_time.verify}).status_code == 200
    assert api.get("/v1/auth/profile", headers=bearer(victim.access)).status_code == 200
