"""Password change is a password oracle unless its current-password check is limited like a
sign-in (issue 15, finding 1): each check counts toward the account lockout and toward a
per-session limit; past either, even the right password is refused with 429, while the
session itself keeps working (OWASP ASVS 4.0.3 V2.2.1 anti-automation, V3.7.1 and V2.1.6
re-authentication before a sensitive change).

On ``strict_system``: lockout after 5 failures, 3 checks per session per hour."""

from __future__ import annotations

import httpx

from tests.security.helpers import (
    PASSWORD,
    bearer,
    is_problem,
    new_email,
    sign_in,
    signed_in,
    verified_account,
)

NEW_PASSWORD = "a quiet meadow beyond the hills"


def change(api: httpx.Client, access: str, current: str) -> httpx.Response:
    return api.post("/v1/auth/password/change", headers=bearer(access),
                    json={"currentPassword": current, "newPassword": NEW_PASSWORD})


def assert_wrong(response: httpx.Response) -> None:
    """The answer to a wrong guess: 400 naming ``currentPassword``."""
    assert is_problem(response, 400), (response.status_code, response.text)
    assert response.json()["errors"][0]["field"] == "currentPassword"


def assert_limited(response: httpx.Response) -> None:
    """RFC 6585 §4 / API.md: 429 problem+json with Retry-After in whole seconds."""
    assert is_problem(response, 429), (response.status_code, response.text)
    assert int(response.headers["retry-after"]) >= 1


def test_guesses_are_limited_per_session(strict_api, box):
    """ASVS V2.2.1: the 4th current-password check of one session within the hour is a
    429 even with the right password; the session still reads its profile (V3.7.1: the
    limit guards the check, not the session), and another session of the account can still
    change the password (3 failures are under the lockout's 5)."""
    email = new_email("reauth")
    verified_account(strict_api, box, email)
    attacker, owner = signed_in(strict_api, email), signed_in(strict_api, email)
    for guess in ("guess number one", "guess number two", "guess number three"):
        assert_wrong(change(strict_api, attacker["accessToken"], guess))
    assert_limited(change(strict_api, attacker["accessToken"], PASSWORD))
    profile = strict_api.get("/v1/auth/profile", headers=bearer(attacker["accessToken"]))
    assert profile.status_code == 200, profile.text
    done = change(strict_api, owner["accessToken"], PASSWORD)
    assert done.status_code == 200, done.text


def test_guesses_count_toward_the_account_lockout(strict_api, box):
    """ASVS V2.2.1: failures spread over sessions (each under its own limit) add up to the
    account lockout (5), which then refuses the right password on password change (429)
    and on sign-in (401, like a wrong password), while the sessions keep working."""
    email = new_email("lockout")
    verified_account(strict_api, box, email)
    # every session first: a successful sign-in forgets earlier failures
    sessions = [signed_in(strict_api, email)["accessToken"] for _ in range(3)]
    answers = [change(strict_api, sessions[i // 2], f"guess number {i}") for i in range(5)]
    for response in answers[:4]:
        assert_wrong(response)
    assert answers[4].status_code in (400, 429), answers[4].text  # the 5th may start it
    assert_limited(change(strict_api, sessions[2], PASSWORD))
    signin = sign_in(strict_api, email)
    assert is_problem(signin, 401) and signin.json()["type"] == "invalid_credentials"
    for access in sessions:
        profile = strict_api.get("/v1/auth/profile", headers=bearer(access))
        assert profile.status_code == 200, profile.text


def test_the_right_password_within_the_limits_changes_it(strict_api, box):
    """The control: one wrong and one right check on a fresh session and account succeed,
    and the new password signs in (ASVS V2.1.5, V2.1.6)."""
    email = new_email("change")
    verified_account(strict_api, box, email)
    access = signed_in(strict_api, email)["accessToken"]
    assert_wrong(change(strict_api, access, "not my password at all"))
    assert change(strict_api, access, PASSWORD).status_code == 200
    assert sign_in(strict_api, email, NEW_PASSWORD).status_code == 200
