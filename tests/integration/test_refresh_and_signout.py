"""Refresh rotation, grace window, reuse detection, races, sign-out, cookie transport."""

from __future__ import annotations

import asyncio
import base64
import json

import jwt

from db.repositories import audit
from db.tables import RefreshToken
from tests.support import bearer, sign_in, verified_user


async def signed_in(client, mailbox, email="sam@example.com", **extra):
    await verified_user(client, mailbox, email)
    response = await sign_in(client, email, **extra)
    assert response.status_code == 200, response.text
    return response


async def refresh(client, token):
    return await client.post("/v1/auth/refresh", json={"refreshToken": token})


async def test_rotation_then_replay_after_grace_kills_the_session(client, mailbox, clock):
    pair = (await signed_in(client, mailbox)).json()
    first = await refresh(client, pair["refreshToken"])
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refreshToken"] != pair["refreshToken"]

    clock.advance(seconds=11)  # past the 10 s grace window
    replay = await refresh(client, pair["refreshToken"])
    assert replay.status_code == 401
    assert replay.json()["type"] == "token_reuse_detected"
    # the whole family is dead: the successor and its access token too
    assert (await refresh(client, rotated["refreshToken"])).status_code == 401
    profile = await client.get("/v1/auth/profile", headers=bearer(rotated["accessToken"]))
    assert profile.status_code == 401
    user_id = rotated["user"]["id"]
    assert "auth.refresh.reuse_detected" in await audit.list_actions(user_id)


async def test_same_token_twice_within_grace_gets_the_same_successor(client, mailbox, clock):
    pair = (await signed_in(client, mailbox)).json()
    a = (await refresh(client, pair["refreshToken"])).json()
    clock.advance(seconds=5)
    b = (await refresh(client, pair["refreshToken"])).json()
    assert a["refreshToken"] == b["refreshToken"]
    assert (await refresh(client, b["refreshToken"])).status_code == 200


async def test_concurrent_refreshes_do_not_fork_the_family(client, mailbox):
    pair = (await signed_in(client, mailbox)).json()
    responses = await asyncio.gather(*(refresh(client, pair["refreshToken"]) for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.json()["refreshToken"] for r in responses}) == 1
    assert await RefreshToken.count() == 2  # the original and exactly one successor


async def test_signout_rejects_the_access_token_at_once_and_is_idempotent(client, mailbox):
    pair = (await signed_in(client, mailbox)).json()
    headers = bearer(pair["accessToken"])
    assert (await client.get("/v1/auth/profile", headers=headers)).status_code == 200
    out = await client.post("/v1/auth/signout", json={"refreshToken": pair["refreshToken"]})
    assert out.status_code == 204
    assert (await client.get("/v1/auth/profile", headers=headers)).status_code == 401
    assert (await refresh(client, pair["refreshToken"])).status_code == 401
    again = await client.post("/v1/auth/signout", json={"refreshToken": pair["refreshToken"]})
    assert again.status_code == 204


async def test_signout_with_only_the_bearer_token(client, mailbox):
    pair = (await signed_in(client, mailbox)).json()
    headers = bearer(pair["accessToken"])
    assert (await client.post("/v1/auth/signout", headers=headers)).status_code == 204
    assert (await client.get("/v1/auth/profile", headers=headers)).status_code == 401
    assert (await refresh(client, pair["refreshToken"])).status_code == 401


async def test_cookie_transport(client, mailbox):
    response = await signed_in(client, mailbox, refreshTransport="cookie")
    assert "refreshToken" not in response.json()
    cookie = response.headers["set-cookie"]
    for attribute in ("latchkey_refresh=", "HttpOnly", "SameSite=strict", "Path=/v1/auth",
                      "Secure"):
        assert attribute in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    cookie_header = {"cookie": f"latchkey_refresh={token}"}
    rotated = await client.post("/v1/auth/refresh", headers=cookie_header)
    assert rotated.status_code == 200, rotated.text
    assert "refreshToken" not in rotated.json()
    new_token = rotated.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert new_token != token
    out = await client.post("/v1/auth/signout", headers={"cookie": f"latchkey_refresh={new_token}"})
    assert out.status_code == 204
    assert 'latchkey_refresh=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers[
        "set-cookie"]
    cleared = out.headers["set-cookie"]  # the same attributes as the cookie it clears
    for attribute in ("Max-Age=0", "HttpOnly", "SameSite=strict", "Path=/v1/auth", "Secure"):
        assert attribute in cleared
    assert (await client.post("/v1/auth/refresh",
                              json={"refreshToken": new_token})).status_code == 401


def _forge(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_bad_access_tokens_are_401(client, mailbox, clock):
    pair = (await signed_in(client, mailbox)).json()
    access = pair["accessToken"]
    claims = jwt.decode(access, options={"verify_signature": False})
    none_alg = jwt.encode(claims, key=None, algorithm="none")
    for token in (_forge(access, sub="00000000-0000-0000-0000-000000000000"), none_alg,
                  pair["refreshToken"], "garbage", access + "x"):
        response = await client.get("/v1/auth/profile", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["type"] == "unauthenticated"
    assert (await client.get("/v1/auth/profile")).status_code == 401
    clock.advance(seconds=901)
    assert (await client.get("/v1/auth/profile", headers=bearer(access))).status_code == 401


async def test_wrong_password_and_unknown_email_get_the_same_401(client, mailbox):
    await verified_user(client, mailbox, "kim@example.com")
    wrong = await sign_in(client, "kim@example.com", password="not the right password")
    unknown = await sign_in(client, "nobody@example.com", password="not the right password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert "auth.signin.failed" in await audit.list_actions(
        (await sign_in(client, "kim@example.com")).json()["user"]["id"])
