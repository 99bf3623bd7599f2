"""Password reset and change: links through the queue, sessions ended, alerts, policy."""

from __future__ import annotations

from db.repositories import users
from tests.support import (
    PASSWORD,
    bearer,
    register,
    serving,
    sign_in,
    token_of,
    verified_user,
    wait_mail,
)

NEW = "a brand new passphrase for latchkey"


async def forgot(client, email):
    return await client.post("/v1/auth/password/forgot", json={"email": email})


async def reset(client, token, password=NEW):
    return await client.post("/v1/auth/password/reset",
                             json={"token": token, "newPassword": password})


async def reset_link(client, mailbox, email, nth=1):
    assert (await forgot(client, email)).status_code == 200
    mails = await wait_mail(mailbox, email, count=nth, subject="Reset your password")
    return mails[nth - 1].links[0]


async def test_reset_round_trip_ends_every_session(client, mailbox, settings):
    await verified_user(client, mailbox, "rose@example.com")
    before = (await sign_in(client, "rose@example.com")).json()
    link = await reset_link(client, mailbox, "rose@example.com")
    assert link.startswith(f"{settings.app_url}/reset-password?token=")

    response = await reset(client, token_of(link))
    assert response.status_code == 200
    assert "accessToken" not in response.json()  # no automatic sign-in
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(before["accessToken"]))).status_code == 401
    assert (await client.post("/v1/auth/refresh",
                              json={"refreshToken": before["refreshToken"]})).status_code == 401
    assert (await sign_in(client, "rose@example.com")).status_code == 401
    assert (await sign_in(client, "rose@example.com", password=NEW)).status_code == 200

    alert = (await wait_mail(mailbox, "rose@example.com", subject="Your password was reset"))[0]
    assert "127.0.0.1" in alert.text or "testclient" in alert.text
    assert f"{settings.app_url}/forgot-password" in alert.text
    assert token_of(link) not in alert.text


async def test_reset_token_is_single_use_expires_and_is_voided_by_a_newer_one(client, mailbox,
                                                                              clock):
    await verified_user(client, mailbox, "tom@example.com")
    first = token_of(await reset_link(client, mailbox, "tom@example.com", nth=1))
    second = token_of(await reset_link(client, mailbox, "tom@example.com", nth=2))
    assert (await reset(client, first)).json()["type"] == "invalid_token"
    clock.advance(hours=1, seconds=1)
    assert (await reset(client, second)).json()["type"] == "token_expired"
    clock.advance(hours=-1, seconds=-2)
    assert (await reset(client, second)).status_code == 200
    assert (await reset(client, second)).json()["type"] == "invalid_token"


async def test_weak_password_changes_nothing_and_the_link_still_works(client, mailbox):
    await verified_user(client, mailbox, "weak@example.com")
    token = token_of(await reset_link(client, mailbox, "weak@example.com"))
    response = await reset(client, token, password="password1234")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "newPassword"
    assert "too weak" in response.json()["errors"][0]["message"]
    contains_email = await reset(client, token, password="weak-weak-weak zebra crossing 9")
    assert "email" in contains_email.json()["errors"][0]["message"]
    assert (await sign_in(client, "weak@example.com")).status_code == 200
    assert (await reset(client, token)).status_code == 200


async def test_forgot_is_identical_for_known_and_unknown_emails(client, mailbox):
    await verified_user(client, mailbox, "known@example.com")
    known = await forgot(client, "known@example.com")
    unknown = await forgot(client, "unknown@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    await wait_mail(mailbox, "known@example.com", subject="Reset your password")
    assert mailbox.to("unknown@example.com") == []


async def test_reset_proves_the_email_address(client, mailbox):
    await register(client, "late@example.com")
    token = token_of(await reset_link(client, mailbox, "late@example.com"))
    assert (await reset(client, token)).status_code == 200
    assert (await sign_in(client, "late@example.com", password=NEW)).status_code == 200


async def test_change_keeps_this_session_and_ends_the_others(client, mailbox):
    await verified_user(client, mailbox, "chad@example.com")
    here = (await sign_in(client, "chad@example.com")).json()
    there = (await sign_in(client, "chad@example.com")).json()
    wrong = await client.post("/v1/auth/password/change", headers=bearer(here["accessToken"]),
                              json={"currentPassword": "not my password!", "newPassword": NEW})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "currentPassword"
    changed = await client.post("/v1/auth/password/change", headers=bearer(here["accessToken"]),
                                json={"currentPassword": PASSWORD, "newPassword": NEW})
    assert changed.status_code == 200
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(here["accessToken"]))).status_code == 200
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(there["accessToken"]))).status_code == 401
    alert = (await wait_mail(mailbox, "chad@example.com", subject="Your password was changed"))[0]
    assert "If it was not, reset your password now" in alert.text


async def test_sign_in_rehashes_when_the_cost_rose(client, mailbox, settings, clock):
    await verified_user(client, mailbox, "cost@example.com")
    assert (await users.get_by_email("cost@example.com")).password_hash.startswith("$2b$04$")
    async with serving(settings.replace(bcrypt_rounds=5), clock, worker=False) as stronger:
        assert (await sign_in(stronger, "cost@example.com")).status_code == 200
    assert (await users.get_by_email("cost@example.com")).password_hash.startswith("$2b$05$")
    assert (await sign_in(client, "cost@example.com")).status_code == 200
