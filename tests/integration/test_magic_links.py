"""Magic links: the emailed link signs in once, expires, proves the address, and the request
never tells whether an account exists."""

from __future__ import annotations

import asyncio

import jwt

from db.repositories import audit
from db.tables import OneTimeToken, OutboxMessage, Session, TwoFactorChallenge, User
from domain.names import AuditAction
from tests.support import bearer, register, serving, sign_in, token_of, verified_user, wait_mail

SUBJECT = "Your sign-in link"
FIREFOX = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 "
           "Firefox/128.0")


async def ask(client, email, **headers):
    return await client.post("/v1/auth/magic-link/request", json={"email": email},
                             headers=headers)


async def use(client, token, **extra):
    return await client.post("/v1/auth/magic-link/verify", json={"token": token, **extra})


async def magic_link(client, mailbox, email, nth=1, **headers) -> str:
    assert (await ask(client, email, **headers)).status_code == 200
    mails = await wait_mail(mailbox, email, count=nth, subject=SUBJECT)
    return mails[nth - 1].links[0]


def amr_of(access_token: str) -> list[str]:
    return jwt.decode(access_token, options={"verify_signature": False})["amr"]


async def user_id(email: str):
    return (await User.select(User.id).where(User.email_lower == email).first())["id"]


async def test_round_trip_from_the_emailed_link(client, mailbox, settings):
    email = "mona@example.com"
    await verified_user(client, mailbox, email)
    link = await magic_link(client, mailbox, email, **{"user-agent": FIREFOX})
    assert link.startswith(f"{settings.app_url}/auth/magic?token=")
    mail = mailbox.to(email, SUBJECT)[0]
    assert "from Firefox on Windows (IP 127.0.0.1)" in " ".join(mail.text.split())
    assert "expires in 15 minutes" in mail.text
    # the worker stored where the request came from with the token, and only its hash
    stored = await OneTimeToken.select().where(OneTimeToken.purpose == "magic_link").first()
    assert stored["ip_address"] == "127.0.0.1" and stored["user_agent"] == FIREFOX
    assert stored["token_hash"] != token_of(link)
    outbox = await OutboxMessage.select(OutboxMessage.data).where(
        OutboxMessage.kind == "magic_link").first()
    assert token_of(link) not in str(outbox["data"])

    response = await use(client, token_of(link))
    assert response.status_code == 200, response.text
    pair = response.json()
    assert amr_of(pair["accessToken"]) == ["email"]
    assert pair["tokenType"] == "Bearer" and pair["refreshToken"]
    assert pair["user"]["email"] == email
    profile = await client.get("/v1/auth/profile", headers=bearer(pair["accessToken"]))
    assert profile.status_code == 200 and profile.json()["email"] == email
    refreshed = await client.post("/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert amr_of(refreshed.json()["accessToken"]) == ["email"]  # the session keeps its amr
    actions = await audit.list_actions(await user_id(email))
    assert AuditAction.MAGIC_LINK_REQUESTED in actions
    assert actions[-1] == AuditAction.SIGNIN_SUCCEEDED


async def test_two_links_coexist_and_each_works_once(client, mailbox):
    email = "nia@example.com"
    await verified_user(client, mailbox, email)
    first = token_of(await magic_link(client, mailbox, email, nth=1))
    second = token_of(await magic_link(client, mailbox, email, nth=2))
    assert first != second
    assert (await use(client, first)).status_code == 200
    assert (await use(client, second)).status_code == 200  # the newer one did not void it
    for token in (first, second):
        reused = await use(client, token)
        assert reused.status_code == 400 and reused.json()["type"] == "invalid_token"
    assert await Session.count() == 2


async def test_parallel_uses_of_one_link_open_one_session(client, mailbox):
    email = "opal@example.com"
    await verified_user(client, mailbox, email)
    token = token_of(await magic_link(client, mailbox, email))
    answers = await asyncio.gather(*(use(client, token) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    assert await Session.count() == 1


async def test_an_expired_link_is_refused(client, mailbox, clock, settings):
    email = "odo@example.com"
    await verified_user(client, mailbox, email)
    token = token_of(await magic_link(client, mailbox, email))
    clock.advance(seconds=settings.magic_link_ttl + 1)
    expired = await use(client, token)
    assert expired.status_code == 400 and expired.json()["type"] == "token_expired"
    unknown = await use(client, "A" * 43)
    assert unknown.status_code == 400 and unknown.json()["type"] == "invalid_token"


async def test_request_is_identical_for_known_unknown_and_deactivated(client, mailbox):
    await verified_user(client, mailbox, "known@example.com")
    await verified_user(client, mailbox, "gone@example.com")
    await User.update({User.is_active: False}).where(User.email_lower == "gone@example.com")
    known = await ask(client, "known@example.com")
    unknown = await ask(client, "nobody@example.com")
    gone = await ask(client, "gone@example.com")
    assert known.status_code == unknown.status_code == gone.status_code == 200
    assert known.content == unknown.content == gone.content
    assert dict(known.headers).keys() == dict(unknown.headers).keys() == dict(gone.headers).keys()
    await wait_mail(mailbox, "known@example.com", subject=SUBJECT)
    assert await OutboxMessage.count().where(OutboxMessage.kind == "magic_link") == 1
    assert mailbox.to("nobody@example.com") == [] and mailbox.to("gone@example.com",
                                                                  SUBJECT) == []
    bad = await ask(client, "not an address")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "email"


async def test_the_429_is_identical_for_known_and_unknown_addresses(settings, clock, mailbox):
    roomy = settings.replace(rate_limit_magic_link="100/hour")  # only the per-address limit
    async with serving(roomy, clock) as client:
        await verified_user(client, mailbox, "kit@example.com")
        for email in ("kit@example.com", "ghost@example.com"):
            for _ in range(5):
                assert (await ask(client, email)).status_code == 200
        known = await ask(client, "KIT@example.com")  # addresses compare lower-cased
        unknown = await ask(client, "ghost@example.com")
        assert known.status_code == unknown.status_code == 429
        assert known.content == unknown.content
        assert known.json()["setting"] == "RATE_LIMIT_MAGIC_LINK_PER_ACCOUNT"
        assert int(known.headers["retry-after"]) == int(unknown.headers["retry-after"]) > 0
        assert (await ask(client, "other@example.com")).status_code == 200  # per address
    assert len(await wait_mail(mailbox, "kit@example.com", count=5, subject=SUBJECT)) == 5


async def test_the_per_ip_limit(client, mailbox):
    for n in range(5):
        assert (await ask(client, f"ip{n}@example.com")).status_code == 200
    limited = await ask(client, "ip9@example.com")
    assert limited.status_code == 429
    assert limited.json()["setting"] == "RATE_LIMIT_MAGIC_LINK"


async def test_using_the_link_verifies_the_address_and_voids_the_registered_password(
        client, mailbox):
    """Pre-account hijacking: a squatter registered the owner's address with a password of
    their own; the owner's magic link proves the address and the squatter's password dies."""
    email = "newt@example.com"
    assert (await register(client, email)).status_code == 201  # the squatter's password
    assert (await sign_in(client, email)).status_code == 403  # email_not_verified
    token = token_of(await magic_link(client, mailbox, email))
    pair = (await use(client, token)).json()
    assert pair["user"]["emailVerified"] is True
    assert (await sign_in(client, email)).status_code == 401  # that password no longer works
    assert AuditAction.EMAIL_VERIFIED in await audit.list_actions(await user_id(email))
    again = token_of(await magic_link(client, mailbox, email, nth=2))  # verified: no change
    assert (await use(client, again)).status_code == 200


async def test_a_deactivated_account_gets_the_unknown_token_answer(client, mailbox):
    email = "dee@example.com"
    await verified_user(client, mailbox, email)
    token = token_of(await magic_link(client, mailbox, email))
    await User.update({User.is_active: False}).where(User.email_lower == email)
    refused, unknown = await use(client, token), await use(client, "B" * 43)
    assert refused.status_code == unknown.status_code == 400
    assert refused.content == unknown.content
    assert await Session.count() == 0
    await User.update({User.is_active: True}).where(User.email_lower == email)
    later = await use(client, token)  # the refused token was used up
    assert later.status_code == 400 and later.json()["type"] == "invalid_token"


async def test_two_factor_on_gives_a_challenge_and_no_session(client, mailbox, clock):
    email = "tess@example.com"
    await verified_user(client, mailbox, email)
    await User.update({User.totp_enabled_at: clock()}).where(User.email_lower == email)
    response = await use(client, token_of(await magic_link(client, mailbox, email)))
    assert response.status_code == 200
    body = response.json()
    assert body["requiresTwoFactor"] is True and body["twoFactorMethods"] == ["totp"]
    assert body["twoFactorToken"] and "accessToken" not in body
    assert await Session.count() == 0
    challenge = await TwoFactorChallenge.select().first()
    assert challenge["first_factor"] == "email"


async def test_cookie_transport(client, mailbox):
    email = "cora@example.com"
    await verified_user(client, mailbox, email)
    response = await use(client, token_of(await magic_link(client, mailbox, email)),
                         refreshTransport="cookie")
    assert response.status_code == 200 and "refreshToken" not in response.json()
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("latchkey_refresh=") and "httponly" in cookie
    assert "path=/v1/auth" in cookie and "samesite=strict" in cookie
