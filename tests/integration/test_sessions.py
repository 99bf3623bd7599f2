"""Session list and revocation, idle and absolute lifetimes, new-device and reuse alerts."""

from __future__ import annotations

import uuid

from tests.support import (
    PASSWORD,
    bearer,
    register,
    sign_in,
    token_of,
    verified_user,
    wait_mail,
)

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
NEW_DEVICE = "New sign-in to your account"


async def sign_in_with(client, email, user_agent, **extra):
    response = await client.post("/v1/auth/signin", headers={"user-agent": user_agent},
                                 json={"email": email, "password": extra.pop("password", None)
                                       or "correct horse battery staple", **extra})
    assert response.status_code == 200, response.text
    return response.json()


async def test_list_and_revoke_sessions(client, mailbox):
    await verified_user(client, mailbox, "sue@example.com")
    laptop = await sign_in_with(client, "sue@example.com", FIREFOX)
    phone = await sign_in_with(client, "sue@example.com", IPHONE, deviceName="Sue's phone")
    listed = (await client.get("/v1/auth/sessions", headers=bearer(laptop["accessToken"]))).json()
    assert len(listed) == 2
    mine = {s["deviceName"]: s for s in listed}
    assert mine["Firefox on Ubuntu"]["current"] is True
    assert mine["Firefox on Ubuntu"]["platform"] == "ubuntu"
    assert mine["Sue's phone"]["current"] is False and mine["Sue's phone"]["platform"] == "ios"
    assert mine["Sue's phone"]["ipAddress"] == "127.0.0.1"

    phone_id = mine["Sue's phone"]["id"]
    gone = await client.delete(f"/v1/auth/sessions/{phone_id}",
                               headers=bearer(laptop["accessToken"]))
    assert gone.status_code == 204
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(phone["accessToken"]))).status_code == 401
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(laptop["accessToken"]))).status_code == 200


async def test_another_users_session_is_404(client, mailbox):
    await verified_user(client, mailbox, "amy@example.com")
    await verified_user(client, mailbox, "bob@example.com")
    amy = (await sign_in(client, "amy@example.com")).json()
    bob = (await sign_in(client, "bob@example.com")).json()
    bobs = (await client.get("/v1/auth/sessions", headers=bearer(bob["accessToken"]))).json()
    for target in (bobs[0]["id"], str(uuid.uuid4())):
        response = await client.delete(f"/v1/auth/sessions/{target}",
                                       headers=bearer(amy["accessToken"]))
        assert response.status_code == 404 and response.json()["type"] == "not_found"
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(bob["accessToken"]))).status_code == 200


async def test_revoke_others(client, mailbox):
    await verified_user(client, mailbox, "ola@example.com")
    pairs = [(await sign_in(client, "ola@example.com")).json() for _ in range(3)]
    response = await client.post("/v1/auth/sessions/revoke-others",
                                 headers=bearer(pairs[0]["accessToken"]))
    assert response.json() == {"revoked": 2}
    statuses = [(await client.get("/v1/auth/profile", headers=bearer(p["accessToken"]))
                 ).status_code for p in pairs]
    assert statuses == [200, 401, 401]


async def test_idle_timeout_and_absolute_lifetime(client, mailbox, clock):
    await verified_user(client, mailbox, "ida@example.com")
    idle = (await sign_in(client, "ida@example.com")).json()
    busy = (await sign_in(client, "ida@example.com")).json()
    token = busy["refreshToken"]
    for _ in range(4):  # refresh every 6 days: never idle, but 30 days is the limit
        clock.advance(days=6)
        response = await client.post("/v1/auth/refresh", json={"refreshToken": token})
        assert response.status_code == 200
        token = response.json()["refreshToken"]
    assert (await client.post("/v1/auth/refresh",
                              json={"refreshToken": idle["refreshToken"]})).status_code == 401
    clock.advance(days=6, seconds=1)  # 30 days after sign-in
    assert (await client.post("/v1/auth/refresh",
                              json={"refreshToken": token})).status_code == 401


async def test_new_device_alert_fires_once_per_new_device(client, mailbox):
    await verified_user(client, mailbox, "dev@example.com")
    await sign_in_with(client, "dev@example.com", FIREFOX)  # first sign-in: not "new"
    await sign_in_with(client, "dev@example.com", FIREFOX)
    await sign_in_with(client, "dev@example.com", IPHONE)
    await sign_in_with(client, "dev@example.com", IPHONE)
    alert = (await wait_mail(mailbox, "dev@example.com", subject=NEW_DEVICE))[0]
    assert "Mobile Safari on iOS" in alert.text and "127.0.0.1" in alert.text
    await sign_in_with(client, "dev@example.com", FIREFOX)
    assert len(mailbox.to("dev@example.com", NEW_DEVICE)) == 1


async def test_reuse_alert_names_the_session(client, mailbox, clock):
    await verified_user(client, mailbox, "reu@example.com")
    pair = await sign_in_with(client, "reu@example.com", FIREFOX)
    await client.post("/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    clock.advance(seconds=11)
    replay = await client.post("/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert replay.json()["type"] == "token_reuse_detected"
    alert = (await wait_mail(mailbox, "reu@example.com",
                             subject="We signed out a session of yours"))[0]
    assert "Firefox on Ubuntu" in alert.text and pair["refreshToken"] not in alert.text


async def test_security_events_are_paginated_newest_first(client, mailbox, clock):
    await register(client, "log@example.com")
    clock.advance(seconds=1)
    link = (await wait_mail(mailbox, "log@example.com"))[0].links[0]
    await client.post("/v1/auth/verify-email", json={"token": token_of(link)})
    clock.advance(seconds=1)
    await sign_in(client, "log@example.com", password="wrong password, sorry")
    clock.advance(seconds=1)
    pair = (await sign_in(client, "log@example.com")).json()
    headers = bearer(pair["accessToken"])
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/auth/security-events", params=query,
                                 headers=headers)).json()
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    actions = [e["action"] for e in seen]
    assert actions == ["auth.signin.succeeded", "auth.signin.failed", "auth.email.verified",
                       "auth.register"]
    assert len({e["id"] for e in seen}) == 4
    written = str(seen)
    assert PASSWORD not in written and "wrong password, sorry" not in written
    assert seen[1]["metadata"] == {"reason": "bad_credentials"}
    bad = await client.get("/v1/auth/security-events", params={"cursor": "nonsense!"},
                           headers=headers)
    assert bad.status_code == 400
