"""Sign-up -> verification email through the queue -> verify -> sign in -> profile."""

from __future__ import annotations

from tests.support import bearer, register, sign_in, token_of, verified_user, wait_mail


async def test_register_sends_a_working_verification_link(client, mailbox, settings):
    response = await register(client, "  Ann@Example.COM ", name="Ann")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "Ann@example.com" and body["name"] == "Ann"

    mail = (await wait_mail(mailbox, "Ann@example.com"))[0]
    assert mail.subject == "Verify your email address"
    link = mail.links[0]
    assert link.startswith(f"{settings.app_url}/verify-email?token=")
    html = mail.message.get_body(preferencelist=("html",)).get_content()
    assert token_of(link) in html

    assert (await sign_in(client, "ann@example.com")).json()["type"] == "email_not_verified"
    verified = await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
    assert verified.status_code == 200
    welcome = (await wait_mail(mailbox, "Ann@example.com", count=2))[1]
    assert welcome.subject == "Welcome to latchkey"

    signed_in = await sign_in(client, "ANN@example.com")
    assert signed_in.status_code == 200
    pair = signed_in.json()
    assert pair["tokenType"] == "Bearer" and pair["expiresIn"] == 900
    profile = await client.get("/v1/auth/profile", headers=bearer(pair["accessToken"]))
    assert profile.status_code == 200
    assert profile.json()["emailVerified"] is True
    assert profile.json()["twoFactor"] == {"totpEnabled": False, "smsEnabled": False,
                                           "backupCodesRemaining": 0}


async def test_duplicate_email_in_any_case_is_409(client, mailbox):
    await verified_user(client, mailbox, "dup@example.com")
    response = await register(client, "DUP@EXAMPLE.com")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "email_taken"
