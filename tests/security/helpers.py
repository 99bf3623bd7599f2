"""What the attack tests share: accounts made through the real API, hand-built JWTs, and the
web process alone (for settings that need no worker).

Everything goes over real HTTP to the Procfile's processes; nothing here reaches into the
application's modules except to read a default (``Settings``) or a mail (``Mailbox``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from scripts.embedded_redis import free_port
from scripts.mailbox import Mailbox
from tests.environment import DATABASE_URL, REDIS_URL
from tests.processes import BIN, wait_until, web_answers

APP_URL = "https://app.example.test"  # tests.processes.running_system's default
PASSWORD = "correct horse battery staple"
# Known to the tests so that a token signed with the *right* key can be built: the control
# that proves a refusal is about the attack, not about a broken forgery (RFC 8725 §3.1).
JWT_SECRET = "latchkey-security-tests-" + "7f3c9a1e5b" * 4
# Every per-IP / per-account / per-session limit out of reach: all load comes from 127.0.0.1.
OUT_OF_REACH = {
    name: "100000/hour" for name in (
        "RATE_LIMIT_REGISTER", "RATE_LIMIT_SIGNIN", "RATE_LIMIT_REFRESH",
        "RATE_LIMIT_PASSWORD_FORGOT", "RATE_LIMIT_VERIFY_EMAIL_RESEND", "RATE_LIMIT_TOKEN",
        "RATE_LIMIT_PASSWORD_FORGOT_PER_ACCOUNT", "RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_ACCOUNT",
        "RATE_LIMIT_REAUTH_PER_SESSION")
} | {"LOCKOUT_THRESHOLD": "1000", "JWT_SECRET": JWT_SECRET}


@dataclass(frozen=True)
class Victim:
    """A verified account with a live session: the tokens attacks start from."""

    email: str
    access: str
    refresh: str
    claims: dict[str, Any]  # of the access token


def new_email(label: str) -> str:
    """A fresh address per call, so tests sharing one system never share an account."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


def bearer(access_token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {access_token}"}


def is_problem(response: httpx.Response, status: int) -> bool:
    """RFC 9457 problem+json with ``status`` in both the status line and the body."""
    return (response.status_code == status
            and response.headers.get("content-type", "").startswith("application/problem+json")
            and response.json().get("status") == status)


def assert_refused(api: httpx.Client, token: str) -> None:
    """GET /v1/auth/profile with ``token`` as Bearer is a 401 problem+json with an RFC 6750
    §3 challenge, and says nothing about the account."""
    response = api.get("/v1/auth/profile", headers=bearer(token))
    assert is_problem(response, 401), (response.status_code, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "@" not in response.text


def register(api: httpx.Client, email: str, password: str = PASSWORD,
             **extra: Any) -> httpx.Response:
    return api.post("/v1/auth/register", json={"email": email, "password": password, **extra})


def verified_account(api: httpx.Client, mailbox: Mailbox, email: str,
                     password: str = PASSWORD, **extra: Any) -> None:
    """Register ``email`` (``extra``: more fields) and verify it with the emailed link."""
    assert register(api, email, password, **extra).status_code == 201
    link = mailbox.wait_for(email, subject="Verify your email address")[-1].links[0]
    assert api.post("/v1/auth/verify-email", json={"token": token_of(link)}).status_code == 200


def sign_in(api: httpx.Client, email: str, password: str = PASSWORD,
            **extra: Any) -> httpx.Response:
    return api.post("/v1/auth/signin", json={"email": email, "password": password, **extra})


def signed_in(api: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """A TokenPair body for a verified account; fails the test when sign-in fails."""
    response = sign_in(api, email, password)
    assert response.status_code == 200, response.text
    return response.json()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_jws(header: dict[str, Any], claims: dict[str, Any], key: bytes | None,
                digest: Any = hashlib.sha256) -> str:
    """A JWS compact serialization (RFC 7515 §7.1) built by hand, so any header can be sent
    (``alg: none``, an RS256 header over an HMAC signature, ``kid``/``jku``); ``key`` None
    gives an empty signature, else HMAC-``digest``(key, signing input)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims_of(access_token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the test only reads what the server issued)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@contextlib.contextmanager
def web_only(**env: str) -> Iterator[str]:
    """The Procfile's web process alone on this run's database and Redis; yields its URL.
    For tests of settings that send no mail (tests.processes.running_system, minus the
    worker, which would otherwise double the start-up time)."""
    port = free_port()
    environ = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
               "REDIS_URL": REDIS_URL, "BCRYPT_ROUNDS": "4", "APP_URL": APP_URL,
               **OUT_OF_REACH, **env}
    proc = subprocess.Popen([str(BIN / "uvicorn"), "api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                            env=environ)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: web_answers(url), "web")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
