"""Verification tokens: single use, expiry, purpose; resend replaces the link."""

from __future__ import annotations

from db.transaction import transaction
from domain import one_time_secrets
from domain.one_time_secrets import purposes
from domain.tokens import new_opaque_token
from tests.support import register, sign_in, token_of, wait_mail


async def verify(client, token):
    return await client.post("/v1/auth/verify-email", json={"token": token})


async def test_token_is_single_use(client, mailbox):
    await register(client, "one@example.com")
    token = token_of((await wait_mail(mailbox, "one@example.com"))[0].links[0])
    assert (await verify(client, token)).status_code == 200
    reused = await verify(client, token)
    assert reused.status_code == 400 and reused.json()["type"] == "invalid_token"


async def test_token_expires_after_24_hours(client, mailbox, clock):
    await register(client, "late@example.com")
    token = token_of((await wait_mail(mailbox, "late@example.com"))[0].links[0])
    clock.advance(hours=24, seconds=1)
    expired = await verify(client, token)
    assert expired.status_code == 400 and expired.json()["type"] == "token_expired"
    clock.advance(hours=-24, seconds=-2)  # the same token still works within its lifetime
    assert (await verify(client, token)).status_code == 200


async def test_wrong_purpose_and_unknown_tokens_are_400(client, mailbox, clock, settings):
    user = (await register(client, "purpose@example.com")).json()
    async with transaction():
        raw, _ = await one_time_secrets.issue_link(purposes.RESET_PASSWORD, user_id=user["id"],
                                                   settings=settings, now=clock())
    assert (await verify(client, raw)).json()["type"] == "invalid_token"
    assert (await verify(client, new_opaque_token())).status_code == 400
    assert (await sign_in(client, "purpose@example.com")).status_code == 403


async def test_resend_replaces_the_old_link_and_never_reveals_accounts(client, mailbox):
    await register(client, "again@example.com")
    old = token_of((await wait_mail(mailbox, "again@example.com"))[0].links[0])
    known = await client.post("/v1/auth/verify-email/resend", json={"email": "AGAIN@example.com"})
    unknown = await client.post("/v1/auth/verify-email/resend", json={"email": "no@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    new = token_of((await wait_mail(mailbox, "again@example.com", count=2))[1].links[0])
    assert (await verify(client, old)).status_code == 400
    assert (await verify(client, new)).status_code == 200
    assert mailbox.to("no@example.com") == []


async def test_unverified_sign_in_is_403_only_with_the_right_password(client, mailbox):
    await register(client, "unverified@example.com")
    wrong = await sign_in(client, "unverified@example.com", password="wrong password here")
    assert wrong.status_code == 401
    right = await sign_in(client, "unverified@example.com")
    assert right.status_code == 403 and right.json()["type"] == "email_not_verified"
