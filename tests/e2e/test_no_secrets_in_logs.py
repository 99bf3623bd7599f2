"""No secret in any log line: the Procfile's web and worker run as processes, in the
production log format (JSON lines), through a full flow (register, verify, sign in, refresh,
magic link, password reset, TOTP with a code, SMS two-factor through the Twilio stub, the
SMS challenge); then everything both processes wrote to stdout and stderr is searched for
every password, token, link token, code and the TOTP secret the test saw."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.processes import running_system
from tests.support import PASSWORD, token_of

EMAIL = "lena@example.com"
PHONE = "+14155552671"
NEW_PASSWORD = "a brand new passphrase 42"
METRICS_TOKEN = "metrics-token-for-the-e2e-test-0123"


@contextlib.contextmanager
def output_into(path: Path) -> Iterator[None]:
    """Processes started inside write their stdout and stderr to ``path`` (appending, so
    the lines of both stay whole); this process's own fds are restored on leaving."""
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


@pytest.fixture
def system(smtp, clean, twilio, tmp_path) -> Iterator[tuple[str, Path]]:
    """The API URL and the file holding everything the web and worker processes write."""
    output = tmp_path / "processes.log"
    with contextlib.ExitStack() as stack:
        with output_into(output):  # only while the processes start: they keep the file
            url = stack.enter_context(running_system(
                smtp[1], LOG_FORMAT="json", METRICS_TOKEN=METRICS_TOKEN,
                TWILIO_ACCOUNT_SID=twilio.account_sid, TWILIO_AUTH_TOKEN=twilio.auth_token,
                TWILIO_FROM_NUMBER="+15005550006", TWILIO_API_BASE_URL=twilio.base_url))
        yield url, output


def full_flow(url: str, mailbox, twilio, seen: list[str]) -> list[str]:
    """Drive every flow that handles a secret; put each secret in ``seen``; return the
    request ids the API answered with."""
    api = httpx.Client(base_url=f"{url}/v1/auth", timeout=10)
    request_ids: list[str] = []

    def call(method: str, path: str, expect: int, **kwargs) -> dict:
        response = api.request(method, path, **kwargs)
        assert response.status_code == expect, (path, response.text)
        request_ids.append(response.headers["x-request-id"])
        body = response.json() if response.content else {}
        for key in ("accessToken", "refreshToken", "twoFactorToken", "secret"):
            if isinstance(body, dict) and body.get(key):
                seen.append(body[key])
        seen.extend(body.get("backupCodes", []) if isinstance(body, dict) else [])
        return body

    def mailed_token(subject: str) -> str:
        mails = mailbox.wait_for(EMAIL, 1, 5.0, subject)
        token = token_of(mails[-1].links[0])
        seen.append(token)
        return token

    def bearer(pair: dict) -> dict[str, str]:
        return {"authorization": f"Bearer {pair['accessToken']}"}

    seen += [PASSWORD, NEW_PASSWORD]
    call("POST", "/register", 201, json={"email": EMAIL, "password": PASSWORD})
    call("POST", "/verify-email", 200, json={"token": mailed_token("Verify your email address")})
    pair = call("POST", "/signin", 200, json={"email": EMAIL, "password": PASSWORD})
    pair = call("POST", "/refresh", 200, json={"refreshToken": pair["refreshToken"]})
    call("POST", "/magic-link/request", 200, json={"email": EMAIL})
    call("POST", "/magic-link/verify", 200, json={"token": mailed_token("Your sign-in link")})
    call("POST", "/password/forgot", 200, json={"email": EMAIL})
    reset = mailed_token("Reset your password")
    call("POST", "/password/reset", 200, json={"token": reset, "newPassword": NEW_PASSWORD})
    pair = call("POST", "/signin", 200, json={"email": EMAIL, "password": NEW_PASSWORD})

    enrolment = call("POST", "/two-factor/totp/enable", 200, json={"password": NEW_PASSWORD},
                     headers=bearer(pair))
    code = pyotp.TOTP(enrolment["secret"]).at(time.time())
    seen.append(code)
    call("POST", "/two-factor/totp/verify", 200, json={"code": code}, headers=bearer(pair))

    call("POST", "/two-factor/sms/enable", 200,
         json={"phoneNumber": PHONE, "password": NEW_PASSWORD}, headers=bearer(pair))
    sms_code = twilio.wait_for(PHONE)[0].code
    seen.append(sms_code)
    call("POST", "/two-factor/sms/verify", 200, json={"code": sms_code}, headers=bearer(pair))

    pending = call("POST", "/signin", 200, json={"email": EMAIL, "password": NEW_PASSWORD})
    assert pending["requiresTwoFactor"] is True
    call("POST", "/two-factor/challenge/sms", 200,
         json={"twoFactorToken": pending["twoFactorToken"]})
    challenge_code = twilio.wait_for(PHONE, 2)[1].code
    seen.append(challenge_code)
    call("POST", "/two-factor/challenge/verify", 200, json={
        "twoFactorToken": pending["twoFactorToken"], "method": "sms", "code": challenge_code})
    metrics = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200 and "latchkey_http_requests_total" in metrics.text
    for secret in seen:
        assert secret not in metrics.text
    return request_ids


def test_no_secret_reaches_any_process_output(system, mailbox, twilio):
    url, path = system
    seen: list[str] = []
    request_ids = full_flow(url, mailbox, twilio, seen)
    # the alerts of the flow (new sign-ins, TOTP, SMS two-factor, reset) are worker lines too
    mailbox.wait_for(EMAIL, subject="Two-factor authentication was turned on")
    time.sleep(0.5)  # the worker logs each outcome just after the SMTP server took the mail
    output = path.read_text()
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # production format: every line is JSON
    decoded = "\n".join(str(value) for record in records for value in record.values())

    assert len(seen) >= 20 and all(len(secret) >= 6 for secret in seen), seen
    leaked = [s for s in seen if s in output or s in decoded]
    assert not leaked, f"secrets in the processes' output: {leaked}"
    assert all({"event", "level", "request_id", "timestamp"} <= set(r) for r in records)
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "arq.worker", "latchkey.worker"} <= loggers, loggers
    delivered = [r for r in records if r.get("outcome") == "sent"]
    assert {r["request_id"] for r in delivered} <= set(request_ids)
    assert {"verify_email", "magic_link", "reset_password", "sms_two_factor_enrol",
            "sms_two_factor_code"} <= {r["kind"] for r in delivered}
