"""The profile sent with a token pair is the whole Profile (issue 13): sign-in and refresh
show the person's organizations and, after a context switch, the active context the new
access token carries — the same as GET /v1/auth/profile."""

from __future__ import annotations

from tests.integration.test_organizations import create
from tests.support import bearer, sign_in


async def test_sign_in_and_refresh_show_organizations_and_the_active_context(
        client, person):
    _, ann = await person("ann@example.com", "Ann")
    org = await create(client, ann, name="Night Shift")

    signed_in = (await sign_in(client, "ann@example.com")).json()
    assert [(o["id"], o["role"]) for o in signed_in["user"]["organizations"]] == [
        (org["id"], "owner")]
    assert signed_in["user"]["activeContext"] is None

    switched = await client.post("/v1/auth/context", headers=bearer(signed_in["accessToken"]),
                                 json={"contextType": "organization", "contextId": org["id"]})
    assert switched.status_code == 200, switched.text
    refreshed = await client.post("/v1/auth/refresh",
                                  json={"refreshToken": signed_in["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    user = refreshed.json()["user"]
    assert user["activeContext"] == {"type": "organization", "id": org["id"]}
    profile = (await client.get("/v1/auth/profile",
                                headers=bearer(refreshed.json()["accessToken"]))).json()
    assert user == profile
