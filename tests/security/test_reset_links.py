"""Links in mails and the single use of their tokens: the reset link's host comes from
APP_URL, never from the request (OWASP WSTG-INPV-17 host header injection; RFC 9110 §7.2:
Host is the client's word), and one reset token resets once however many requests race
(OWASP ASVS 4.0.3 V11.1.6 TOCTOU, V2.5.x single-use recovery tokens)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.security.helpers import (
    APP_URL,
    PASSWORD,
    is_problem,
    new_email,
    sign_in,
    token_of,
    verified_account,
)

SPOOFS = {
    "host": {"host": "evil.example"},
    "x-forwarded-host": {"x-forwarded-host": "evil.example", "x-forwarded-proto": "http"},
    "forwarded": {"forwarded": "host=evil.example;proto=http"},
    "x-original-host": {"x-original-url": "https://evil.example/", "x-host": "evil.example",
                        "x-forwarded-server": "evil.example", "x-original-host": "evil.example"},
}


@pytest.mark.parametrize("spoof", list(SPOOFS))
def test_reset_link_points_at_app_url_whatever_the_host_header(api, box, spoof):
    """WSTG-INPV-17 (password-reset poisoning): with an attacker's host in any of the
    headers proxies use, every link in the reset mail still starts with APP_URL."""
    email = new_email("host")
    verified_account(api, box, email)
    response = api.post("/v1/auth/password/forgot", json={"email": email},
                        headers=SPOOFS[spoof])
    assert response.status_code == 200, response.text
    mail = box.wait_for(email, subject="Reset your password")[0]
    assert mail.links and all(link.startswith(f"{APP_URL}/") for link in mail.links), mail.links
    assert "evil.example" not in mail.message.as_string()


def test_verification_link_points_at_app_url_whatever_the_host_header(api, box):
    """WSTG-INPV-17, RFC 9110 §7.2: the same for the link of a verification mail asked for
    with an attacker's Host and X-Forwarded-Host."""
    email = new_email("host-verify")
    spoof = {**SPOOFS["host"], **SPOOFS["x-forwarded-host"]}
    created = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD},
                       headers=spoof)
    assert created.status_code == 201, created.text
    resend = api.post("/v1/auth/verify-email/resend", json={"email": email}, headers=spoof)
    assert resend.status_code == 200
    for mail in box.wait_for(email, count=2, subject="Verify your email address"):
        assert all(link.startswith(f"{APP_URL}/") for link in mail.links), mail.links


def test_racing_resets_with_one_token_succeed_once(system, box):
    """ASVS V11.1.6 (no TOCTOU) and V2.5.x (a recovery token works once): eight parallel
    resets with one token, each with its own new password: exactly one 200, the others 400
    ``invalid_token``, and exactly that password signs in."""
    email = new_email("race")
    with httpx.Client(base_url=system, timeout=15) as api:
        verified_account(api, box, email)
        assert api.post("/v1/auth/password/forgot", json={"email": email}).status_code == 200
    token = token_of(box.wait_for(email, subject="Reset your password")[0].links[0])
    passwords = [f"racing horse number {i} wins" for i in range(8)]

    def reset(password: str) -> httpx.Response:
        with httpx.Client(base_url=system, timeout=15) as client:  # one connection each
            return client.post("/v1/auth/password/reset",
                               json={"token": token, "newPassword": password})

    with ThreadPoolExecutor(len(passwords)) as pool:
        answers = list(pool.map(reset, passwords))
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 1, [(a.status_code, a.text) for a in answers]
    for answer in answers:
        if answer.status_code != 200:
            assert is_problem(answer, 400) and answer.json()["type"] == "invalid_token", answer.text
    with httpx.Client(base_url=system, timeout=15) as api:
        works = [sign_in(api, email, p).status_code for p in passwords]
    assert works.count(200) == 1 and works[codes.index(200)] == 200, works
