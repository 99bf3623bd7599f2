"""The push device registry: upsert on (user, token), ownership, the count, the profile."""

from __future__ import annotations

import asyncio

import pytest

from db.tables import AuditEvent, PushDevice, User
from tests.support import bearer, sign_in, verified_user

PATH = "/v1/notifications/devices"
TOKEN = "fcm:dGVzdC1kZXZpY2UtdG9rZW4tMDAx"


async def signed_in(client, mailbox, email: str) -> dict[str, str]:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


async def counted(email: str) -> int:
    row = await User.select(User.push_device_count).where(User.email_lower == email).first()
    return row["push_device_count"]


async def test_the_same_token_twice_is_one_device(client, mailbox, clock):
    auth = await signed_in(client, mailbox, "one@example.com")
    first = await client.post(PATH, headers=auth, json={
        "platform": "ios", "deviceToken": TOKEN, "deviceName": "Ann's iPhone"})
    assert first.status_code == 201, first.text
    device = first.json()
    assert device["platform"] == "ios" and device["deviceName"] == "Ann's iPhone"
    assert "deviceToken" not in device

    clock.advance(minutes=5)
    again = await client.post(PATH, headers=auth, json={"platform": "ios", "deviceToken": TOKEN})
    assert again.status_code == 200
    assert again.json() == device  # same id; a missing name keeps the old one
    renamed = await client.post(PATH, headers=auth, json={
        "platform": "ios", "deviceToken": TOKEN, "deviceName": "Work phone"})
    assert renamed.status_code == 200 and renamed.json()["deviceName"] == "Work phone"
    assert await PushDevice.count() == 1 and await counted("one@example.com") == 1
    row = await PushDevice.select(PushDevice.last_seen_at, PushDevice.created_at).first()
    assert row["last_seen_at"] > row["created_at"]


async def test_devices_show_in_the_profile_and_the_status(client, mailbox):
    auth = await signed_in(client, mailbox, "prof@example.com")
    assert (await client.get("/v1/auth/profile", headers=auth)).json()["devices"] == []
    ids = [(await client.post(PATH, headers=auth, json={
        "platform": platform, "deviceToken": f"token-{platform}", "deviceName": platform.title(),
    })).json()["id"] for platform in ("android", "web")]
    devices = (await client.get("/v1/auth/profile", headers=auth)).json()["devices"]
    assert sorted(d["id"] for d in devices) == sorted(ids)
    assert {d["platform"]: d["name"] for d in devices} == {"android": "Android", "web": "Web"}
    assert all(d["lastSeenAt"] for d in devices)
    status = (await client.get("/v1/notifications/verification/status", headers=auth)).json()
    assert status["push"] == {"verified": True, "deviceCount": 2}


async def test_another_users_device_is_404_and_stays(client, mailbox):
    owner = await signed_in(client, mailbox, "owner@example.com")
    stranger = await signed_in(client, mailbox, "stranger@example.com")
    device = (await client.post(PATH, headers=owner, json={"platform": "android",
                                                          "deviceToken": TOKEN})).json()
    response = await client.delete(f"{PATH}/{device['id']}", headers=stranger)
    assert response.status_code == 404 and response.json()["type"] == "not_found"
    assert await counted("owner@example.com") == 1

    assert (await client.delete(f"{PATH}/{device['id']}", headers=owner)).status_code == 204
    assert await PushDevice.count() == 0 and await counted("owner@example.com") == 0
    assert (await client.get("/v1/auth/profile", headers=owner)).json()["devices"] == []
    assert (await client.delete(f"{PATH}/{device['id']}", headers=owner)).status_code == 404


async def test_one_token_for_two_accounts_is_two_devices(client, mailbox):
    first = await signed_in(client, mailbox, "a1@example.com")
    second = await signed_in(client, mailbox, "a2@example.com")
    for auth in (first, second):
        response = await client.post(PATH, headers=auth, json={"platform": "web",
                                                               "deviceToken": TOKEN})
        assert response.status_code == 201
    assert await counted("a1@example.com") == await counted("a2@example.com") == 1


async def test_parallel_registrations_keep_the_count_exact(client, mailbox):
    auth = await signed_in(client, mailbox, "par@example.com")
    same = await asyncio.gather(*(client.post(PATH, headers=auth, json={
        "platform": "ios", "deviceToken": TOKEN}) for _ in range(10)))
    assert sorted(r.status_code for r in same) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in same}) == 1
    distinct = await asyncio.gather(*(client.post(PATH, headers=auth, json={
        "platform": "android", "deviceToken": f"token-{i}"}) for i in range(10)))
    assert all(r.status_code == 201 for r in distinct)
    assert await PushDevice.count() == 11 and await counted("par@example.com") == 11


async def test_registrations_are_audited_without_the_token(client, mailbox):
    auth = await signed_in(client, mailbox, "aud@example.com")
    device = (await client.post(PATH, headers=auth, json={"platform": "ios",
                                                         "deviceToken": TOKEN})).json()
    await client.post(PATH, headers=auth, json={"platform": "ios", "deviceToken": TOKEN})
    await client.delete(f"{PATH}/{device['id']}", headers=auth)
    events = (await client.get("/v1/auth/security-events", headers=auth)).json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("device.registered") == 1  # a re-registration is not news
    assert actions.count("device.unregistered") == 1
    registered = next(e for e in events if e["action"] == "device.registered")
    assert registered["metadata"]["device_id"] == device["id"]
    assert TOKEN not in str(await AuditEvent.select(AuditEvent.metadata))


@pytest.mark.parametrize("body", [
    {"platform": "blackberry", "deviceToken": TOKEN},
    {"platform": "ios"},
    {"platform": "ios", "deviceToken": ""},
    {"platform": "ios", "deviceToken": "x" * 513},
    {"platform": "ios", "deviceToken": "bad\x00token"},
    {"platform": "ios", "deviceToken": TOKEN, "deviceName": "n" * 101},
])
async def test_bad_registrations_are_400(client, mailbox, body):
    auth = await signed_in(client, mailbox, "bad@example.com")
    response = await client.post(PATH, headers=auth, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_devices_need_a_bearer_token(client):
    assert (await client.post(PATH, json={"platform": "ios", "deviceToken": TOKEN})
            ).status_code == 401
    assert (await client.delete(f"{PATH}/00000000-0000-0000-0000-000000000000")
            ).status_code == 401
    assert (await client.delete(f"{PATH}/not-a-uuid")).status_code in (400, 401, 404)
