"""Sessions remember how they were signed in (``amr``, RFC 8176) across refreshes."""

from __future__ import annotations

import jwt

from db.tables import Session
from tests.support import bearer, sign_in, verified_user


def amr_of(access_token: str) -> list[str]:
    return jwt.decode(access_token, options={"verify_signature": False})["amr"]


async def test_refresh_reissues_the_amr_the_session_stored(client, mailbox):
    await verified_user(client, mailbox, "amr@example.com")
    pair = (await sign_in(client, "amr@example.com")).json()
    assert amr_of(pair["accessToken"]) == ["pwd"]
    # As a two-factor sign-in would have stored it: refresh must not fall back to "pwd".
    await Session.update({Session.amr: "pwd otp mfa"}, force=True)
    for _ in range(2):  # PostgreSQL: the one-statement fast path; SQLite: the general path
        pair = (await client.post("/v1/auth/refresh",
                                  json={"refreshToken": pair["refreshToken"]})).json()
        assert amr_of(pair["accessToken"]) == ["pwd", "otp", "mfa"]
    listed = await client.get("/v1/auth/sessions", headers=bearer(pair["accessToken"]))
    assert listed.status_code == 200 and listed.json()[0]["current"] is True
