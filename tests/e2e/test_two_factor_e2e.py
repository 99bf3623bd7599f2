"""End to end on the real web (uvicorn) and worker (arq) processes over real HTTP: sign up,
verify the email, turn TOTP on, sign out, sign in, answer the challenge with a code from
the authenticator app (RFC 6238 on the real clock), get a TokenPair with amr pwd + otp."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pyotp
import pytest

from tests.processes import running_system
from tests.support import PASSWORD, decode_qr, token_of


@pytest.fixture
def system(smtp, clean) -> Iterator[str]:
    with running_system(smtp[1]) as url:
        yield url


def test_sign_up_enable_totp_and_sign_in_through_the_challenge(system, mailbox):
    api = httpx.Client(base_url=f"{system}/v1/auth", timeout=10)
    email = "tess@example.com"
    assert api.post("/register", json={"email": email, "password": PASSWORD}).status_code == 201
    link = mailbox.wait_for(email, timeout=5.0)[0].links[0]
    assert api.post("/verify-email", json={"token": token_of(link)}).status_code == 200
    pair = api.post("/signin", json={"email": email, "password": PASSWORD}).json()
    auth = {"authorization": f"Bearer {pair['accessToken']}"}

    enrolment = api.post("/two-factor/totp/enable", json={"password": PASSWORD}, headers=auth)
    assert enrolment.status_code == 200, enrolment.text
    uri = decode_qr(enrolment.json()["qrCode"])  # what a phone's camera would read
    app = pyotp.parse_uri(uri)
    assert isinstance(app, pyotp.TOTP) and app.secret == enrolment.json()["secret"]
    enrolled_at = time.time()
    verified = api.post("/two-factor/totp/verify", json={"code": app.at(enrolled_at)},
                        headers=auth)
    assert verified.status_code == 200, verified.text
    assert api.post("/signout", json={"refreshToken": pair["refreshToken"]},
                    headers=auth).status_code == 204

    pending = api.post("/signin", json={"email": email, "password": PASSWORD,
                                        "deviceName": "Tess's phone"}).json()
    assert pending["requiresTwoFactor"] is True and "accessToken" not in pending
    assert pending["twoFactorMethods"] == ["totp", "backup"]
    # The enrolment's step is used up; the next step is within the ±1 the server accepts.
    answered = api.post("/two-factor/challenge/verify", json={
        "twoFactorToken": pending["twoFactorToken"], "method": "totp",
        "code": app.at(enrolled_at + 30)})
    assert answered.status_code == 200, answered.text
    tokens = answered.json()
    claims = jwt.decode(tokens["accessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    assert tokens["tokenType"] == "Bearer" and tokens["user"]["twoFactor"]["totpEnabled"]

    headers = {"authorization": f"Bearer {tokens['accessToken']}"}
    sessions = api.get("/sessions", headers=headers).json()
    assert [s["deviceName"] for s in sessions] == ["Tess's phone"]
    again = api.post("/two-factor/challenge/verify", json={
        "twoFactorToken": pending["twoFactorToken"], "method": "totp",
        "code": app.at(enrolled_at + 60)})
    assert again.status_code == 400 and again.json()["type"] == "invalid_token"
    # the alert that TOTP was turned on came through the worker too
    mailbox.wait_for(email, subject="Two-factor authentication was turned on")
