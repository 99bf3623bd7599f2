"""Account enumeration: every flow that takes an address answers alike whether or not an
account has it (OWASP ASVS 5.0 V6.3.8; ASVS 4.0.3 V2.2.1; API.md conventions: "same status,
same body, similar timing"). Timing is compared with a loose bound only: what it must catch
is a skipped password check, not noise."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.security.helpers import (
    PASSWORD,
    new_email,
    register,
    sign_in,
    verified_account,
)


def shape(response: httpx.Response) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    """What a client can see of an answer (status, headers, body), but for the Date and the
    request id (fresh on every request, whoever asks)."""
    headers = sorted((k.lower(), v) for k, v in response.headers.items()
                     if k.lower() not in ("date", "x-request-id"))
    return response.status_code, tuple(headers), response.content


def test_sign_in_answers_alike_for_unknown_email_and_wrong_password(api, box):
    """Same status, same headers, byte-identical body (ASVS 5.0 V6.3.8): unknown address,
    wrong password of a verified and of an unverified account, and the unknown address in
    other case."""
    verified, unverified = new_email("known"), new_email("unverified")
    verified_account(api, box, verified)
    assert register(api, unverified).status_code == 201
    answers = [sign_in(api, new_email("nobody"), "wrong password guess"),
               sign_in(api, verified, "wrong password guess"),
               sign_in(api, unverified, "wrong password guess"),
               sign_in(api, verified.upper().replace("@EXAMPLE.COM", "@example.net"),
                        PASSWORD)]
    assert answers[0].status_code == 401 and answers[0].json()["type"] == "invalid_credentials"
    assert len({shape(a) for a in answers}) == 1, [shape(a) for a in answers]
    assert sign_in(api, verified).status_code == 200  # the account itself works


def test_password_forgot_answers_alike_and_mails_only_accounts(api, box):
    """POST /password/forgot: identical answers for a verified, an unverified and an unknown
    address (ASVS 5.0 V6.3.8 "forgot password functionality must also have this
    protection"); only the accounts get a link."""
    verified, unverified, unknown = (new_email("fk"), new_email("fu"), new_email("fn"))
    verified_account(api, box, verified)
    assert register(api, unverified).status_code == 201
    answers = [api.post("/v1/auth/password/forgot", json={"email": e})
               for e in (verified, unverified, unknown)]
    assert answers[0].status_code == 200
    assert len({shape(a) for a in answers}) == 1, [shape(a) for a in answers]
    box.wait_for(verified, subject="Reset your password")
    box.wait_for(unverified, subject="Reset your password")
    assert box.to(unknown) == []


def test_verification_resend_answers_alike(api, box):
    """POST /verify-email/resend: identical answers for an unverified, a verified and an
    unknown address (ASVS 5.0 V6.3.8); only the unverified account gets a new link."""
    verified, unverified, unknown = (new_email("rk"), new_email("ru"), new_email("rn"))
    verified_account(api, box, verified)
    assert register(api, unverified).status_code == 201
    answers = [api.post("/v1/auth/verify-email/resend", json={"email": e})
               for e in (unverified, verified, unknown)]
    assert answers[0].status_code == 200
    assert len({shape(a) for a in answers}) == 1, [shape(a) for a in answers]
    box.wait_for(unverified, count=2, subject="Verify your email address")
    assert box.to(unknown) == []


def test_an_unknown_address_costs_a_password_check_too(strict_api, box):
    """Timing (ASVS 5.0 V6.3.8 "different response times"; OWASP Authentication Cheat Sheet,
    "Authentication Responses"): with bcrypt at cost 10 a check dominates a sign-in, so an
    unknown address answered without one would take a fraction of a wrong password's time.
    Loose bound (median at least half), samples interleaved; several accounts and fresh
    unknown addresses keep every attempt under the lockout threshold (5)."""
    accounts = [new_email("timing") for _ in range(3)]
    for email in accounts:
        assert register(strict_api, email).status_code == 201
    known, unknown = [], []
    for i in range(9):
        for email, samples in ((accounts[i % 3], known), (new_email("ghost"), unknown)):
            started = time.perf_counter()
            assert sign_in(strict_api, email, "wrong password guess").status_code == 401
            samples.append(time.perf_counter() - started)
    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)
