"""Notification preferences: the default, validation, order, replacement, audit."""

from __future__ import annotations

import asyncio

import pytest

from db.tables import NotificationPreference
from tests.support import bearer, sign_in, verified_user

PATH = "/v1/notifications/preferences"


async def signed_in(client, mailbox, email: str) -> dict[str, str]:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


def item(channel: str, enabled: bool, priority: int) -> dict:
    return {"channel": channel, "enabled": enabled, "priority": priority}


async def test_a_new_account_has_email_first(client, mailbox):
    auth = await signed_in(client, mailbox, "new@example.com")
    response = await client.get(PATH, headers=auth)
    assert response.status_code == 200
    assert response.json() == {"preferences": [item("email", True, 1)]}


async def test_put_replaces_the_list_and_both_answers_are_by_priority(client, mailbox):
    auth = await signed_in(client, mailbox, "order@example.com")
    wanted = [item("push", False, 3), item("sms", True, 1), item("email", True, 2)]
    response = await client.put(PATH, json={"preferences": wanted}, headers=auth)
    assert response.status_code == 200, response.text
    expected = [item("sms", True, 1), item("email", True, 2), item("push", False, 3)]
    assert response.json()["preferences"] == expected
    assert (await client.get(PATH, headers=auth)).json()["preferences"] == expected

    response = await client.put(PATH, json={"preferences": [item("push", True, 5)]},
                                headers=auth)
    assert response.json()["preferences"] == [item("push", True, 5)]
    assert (await client.get(PATH, headers=auth)).json()["preferences"] == [item("push", True, 5)]
    assert await NotificationPreference.count() == 1


async def test_equal_priorities_keep_a_fixed_order(client, mailbox):
    auth = await signed_in(client, mailbox, "tie@example.com")
    wanted = [item("push", True, 1), item("email", True, 1), item("sms", True, 1)]
    response = await client.put(PATH, json={"preferences": wanted}, headers=auth)
    assert [p["channel"] for p in response.json()["preferences"]] == ["email", "sms", "push"]


@pytest.mark.parametrize(("preferences", "field", "message"), [
    ([item("pager", True, 1)], "preferences[0].channel",
     "must be one of email, sms, push, slack, voice"),
    ([item("email", True, 1), item("Voice", True, 2)], "preferences[1].channel",
     "must be one of email, sms, push, slack, voice"),
    ([item("email", True, 1), item("email", False, 2)], "preferences[1].channel",
     "each channel may appear only once"),
    ([], "preferences", "list at least one channel (disable it to mute it)"),
])
async def test_invalid_lists_are_400_naming_the_entry(client, mailbox, preferences, field,
                                                      message):
    auth = await signed_in(client, mailbox, "invalid@example.com")
    response = await client.put(PATH, json={"preferences": preferences}, headers=auth)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {"field": field, "message": message} in response.json()["errors"]


@pytest.mark.parametrize("priority", [0, 11, -1, 1.5, None])
async def test_priorities_are_whole_numbers_from_1_to_10(client, mailbox, priority):
    auth = await signed_in(client, mailbox, "prio@example.com")
    response = await client.put(PATH, json={"preferences": [item("email", True, priority)]},
                                headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "validation_failed"


async def test_a_refused_list_changes_nothing(client, mailbox):
    auth = await signed_in(client, mailbox, "keep@example.com")
    await client.put(PATH, json={"preferences": [item("sms", True, 1)]}, headers=auth)
    bad = [item("email", True, 1), item("fax", True, 2)]
    assert (await client.put(PATH, json={"preferences": bad}, headers=auth)).status_code == 400
    assert (await client.get(PATH, headers=auth)).json()["preferences"] == [item("sms", True, 1)]


async def test_parallel_replacements_leave_one_whole_list(client, mailbox):
    auth = await signed_in(client, mailbox, "race@example.com")
    lists = [[item("email", True, 1), item("sms", i % 2 == 0, 2), item("push", True, 3)]
             for i in range(8)]
    answers = await asyncio.gather(*(client.put(PATH, json={"preferences": p}, headers=auth)
                                     for p in lists))
    assert [a.status_code for a in answers] == [200] * 8
    assert await NotificationPreference.count() == 3


async def test_updates_are_audited_with_the_list(client, mailbox):
    auth = await signed_in(client, mailbox, "aud@example.com")
    await client.put(PATH, json={"preferences": [item("sms", True, 2), item("email", False, 1)]},
                     headers=auth)
    events = (await client.get("/v1/auth/security-events", headers=auth)).json()["items"]
    event = next(e for e in events if e["action"] == "notifications.preferences.updated")
    assert event["metadata"] == {"preferences": [item("email", False, 1), item("sms", True, 2)]}


async def test_preferences_need_a_bearer_token(client):
    assert (await client.get(PATH)).status_code == 401
    response = await client.put(PATH, json={"preferences": [item("email", True, 1)]})
    assert response.status_code == 401
