"""Security alerts follow notification preferences, decided by the worker: SMS to a verified
phone, "would push" rows for registered devices, critical alerts always by email too."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from db.tables import OutboxMessage
from domain.contacts.preferences import Preference
from domain.messages import kinds
from domain.messages.delivery import deliver
from domain.messages.kinds import Channel
from domain.messages.routing import choose
from domain.records import UserRecord
from tests.support import PASSWORD, bearer, sign_in, verified_user, wait_mail
from worker.tasks import Sender

PHONE = "+14155552672"
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
NEW_DEVICE = "New sign-in to your account"
PASSWORD_CHANGED = "Your password was changed"


# --- the choice, as a pure function ---------------------------------------------------------

def user(*, email: bool = True, phone: bool = False, devices: int = 0) -> UserRecord:
    now = datetime.now(UTC)
    return UserRecord(id=uuid.uuid4(), email="u@example.com", password_hash="x", name=None,
                      email_verified_at=now if email else None, roles=["user"], is_active=True,
                      created_at=now, phone_number=PHONE if phone else None,
                      phone_verified_at=now if phone else None, push_device_count=devices)


def prefs(*entries: tuple[str, bool, int]) -> list[Preference]:
    return sorted((Preference(*e) for e in entries), key=lambda p: p.priority)


def test_enabled_verified_channels_in_priority_order():
    chosen = choose(kinds.NEW_DEVICE_ALERT, user(phone=True, devices=1),
                    prefs(("push", True, 1), ("sms", True, 2), ("email", True, 3)))
    assert chosen == [Channel.PUSH, Channel.SMS, Channel.EMAIL]


def test_disabled_and_unverified_channels_are_skipped():
    chosen = choose(kinds.NEW_DEVICE_ALERT, user(phone=False, devices=1),
                    prefs(("sms", True, 1), ("email", False, 2), ("push", True, 3)))
    assert chosen == [Channel.PUSH, Channel.EMAIL]  # push cannot deliver yet: email too


def test_critical_alerts_always_go_by_email_too():
    only_sms = prefs(("sms", True, 1), ("email", False, 2))
    assert choose(kinds.NEW_DEVICE_ALERT, user(phone=True), only_sms) == [Channel.SMS]
    for kind in (kinds.PASSWORD_RESET_ALERT, kinds.PASSWORD_CHANGED_ALERT,
                 kinds.TOKEN_REUSE_ALERT, kinds.TWO_FACTOR_DISABLED_ALERT,
                 kinds.ACCOUNT_DEACTIVATED_ALERT):
        assert choose(kind, user(phone=True), only_sms) == [Channel.SMS, Channel.EMAIL]


def test_an_alert_is_never_dropped():
    nothing = prefs(("email", False, 1), ("sms", False, 2))
    assert choose(kinds.NEW_DEVICE_ALERT, user(email=False), nothing) == [Channel.EMAIL]


# --- through the real worker ----------------------------------------------------------------

async def signed_in(client, mailbox, email: str) -> dict[str, str]:
    await verified_user(client, mailbox, email)
    return bearer((await sign_in(client, email)).json()["accessToken"])


async def verify_phone(client, twilio, auth) -> None:
    sent = await client.post("/v1/notifications/verification/send", headers=auth,
                             json={"method": "sms", "value": PHONE})
    assert sent.status_code == 202, sent.text
    sms = (await asyncio.to_thread(twilio.wait_for, PHONE))[-1]
    verified = await client.post("/v1/notifications/verification/verify", headers=auth,
                                 json={"method": "sms", "code": sms.code})
    assert verified.status_code == 200, verified.text


async def prefer(client, auth, *entries: tuple[str, bool, int]) -> None:
    body = {"preferences": [{"channel": c, "enabled": e, "priority": p} for c, e, p in entries]}
    assert (await client.put("/v1/notifications/preferences", json=body,
                             headers=auth)).status_code == 200


async def new_device_sign_in(client, email: str) -> None:
    response = await client.post("/v1/auth/signin", headers={"user-agent": FIREFOX},
                                 json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


async def routes_of(kind: kinds.MessageKind, count: int, within: float = 5.0) -> list[dict]:
    """The routed rows of the user's alert of ``kind`` once ``count`` of them are done
    (sent, recorded or failed)."""
    deadline = time.monotonic() + within
    while True:
        rows = await OutboxMessage.select(
            OutboxMessage.channel, OutboxMessage.status, OutboxMessage.recipient,
            OutboxMessage.data).where(OutboxMessage.kind == kind.name)
        for row in rows:
            row["data"] = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
        routed = [r for r in rows if "routed_from" in r["data"]]
        if len(routed) >= count and all(r["status"] != "pending" and r["status"] != "sending"
                                        for r in rows):
            return routed
        assert time.monotonic() < deadline, f"routes not settled: {rows}"
        await asyncio.sleep(0.02)


async def test_an_alert_goes_by_sms_only_when_the_user_prefers_it(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "sms@example.com")
    await verify_phone(client, twilio, auth)
    await prefer(client, auth, ("sms", True, 1), ("email", False, 2))
    await new_device_sign_in(client, "sms@example.com")

    texts = await asyncio.to_thread(twilio.wait_for, PHONE, 2)
    assert texts[-1].body.startswith("latchkey: new sign-in on ")
    assert "Firefox on Ubuntu" in texts[-1].body
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 1)
    assert [(r["channel"], r["status"], r["recipient"]) for r in routes] == [
        ("sms", "sent", PHONE)]
    assert mailbox.to("sms@example.com", NEW_DEVICE) == []


async def test_a_critical_alert_goes_by_sms_and_by_email(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "crit@example.com")
    await verify_phone(client, twilio, auth)
    await prefer(client, auth, ("sms", True, 1))
    response = await client.post("/v1/auth/password/change", headers=auth, json={
        "currentPassword": PASSWORD, "newPassword": "a brand new passphrase for latchkey"})
    assert response.status_code == 200, response.text

    mail = (await wait_mail(mailbox, "crit@example.com", subject=PASSWORD_CHANGED))[0]
    assert "was changed" in mail.text
    texts = await asyncio.to_thread(twilio.wait_for, PHONE, 2)
    assert texts[-1].body.startswith("latchkey: your password was changed on ")
    routes = await routes_of(kinds.PASSWORD_CHANGED_ALERT, 2)
    assert sorted(r["channel"] for r in routes) == ["email", "sms"]
    assert len(mailbox.to("crit@example.com", PASSWORD_CHANGED)) == 1


async def test_email_is_used_when_the_preferred_phone_is_not_verified(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "unv@example.com")
    await prefer(client, auth, ("sms", True, 1), ("email", False, 2))
    await new_device_sign_in(client, "unv@example.com")
    await wait_mail(mailbox, "unv@example.com", subject=NEW_DEVICE)
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 1)
    assert [r["channel"] for r in routes] == ["email"] and twilio.received == []


async def test_a_push_preference_with_a_device_is_recorded_as_would_push(client, mailbox):
    auth = await signed_in(client, mailbox, "push@example.com")
    registered = await client.post("/v1/notifications/devices", headers=auth,
                                   json={"platform": "android", "deviceToken": "tok-1"})
    assert registered.status_code == 201
    await prefer(client, auth, ("push", True, 1), ("email", True, 2))
    await new_device_sign_in(client, "push@example.com")

    await wait_mail(mailbox, "push@example.com", subject=NEW_DEVICE)
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 2)
    push = next(r for r in routes if r["channel"] == "push")
    assert push["status"] == "recorded"
    assert {k: push["data"][k] for k in ("kind", "deviceCount")} == {
        "kind": "alert_new_device", "deviceCount": 1}
    assert [r["channel"] for r in routes if r["channel"] != "push"] == ["email"]


async def test_push_without_a_device_is_not_recorded(client, mailbox):
    auth = await signed_in(client, mailbox, "nodev@example.com")
    await prefer(client, auth, ("push", True, 1), ("email", True, 2))
    await new_device_sign_in(client, "nodev@example.com")
    await wait_mail(mailbox, "nodev@example.com", subject=NEW_DEVICE)
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 1)
    assert [r["channel"] for r in routes] == ["email"]


async def test_routing_runs_once_when_the_job_runs_twice(client, mailbox, settings, clock):
    await signed_in(client, mailbox, "twice@example.com")
    await new_device_sign_in(client, "twice@example.com")
    await wait_mail(mailbox, "twice@example.com", subject=NEW_DEVICE)
    await routes_of(kinds.NEW_DEVICE_ALERT, 1)
    original = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.data).where(
        OutboxMessage.kind == kinds.NEW_DEVICE_ALERT.name)
    alert_id = next(r["id"] for r in original if "routed_from" not in str(r["data"]))
    sender = Sender(settings)
    try:
        again = await deliver(alert_id, send=sender, settings=settings, clock=clock,
                              final_attempt=False)
    finally:
        await sender.close()
    assert again == "skipped"
    assert await OutboxMessage.count().where(
        OutboxMessage.kind == kinds.NEW_DEVICE_ALERT.name) == 2
    assert len(mailbox.to("twice@example.com", NEW_DEVICE)) == 1


@pytest.mark.parametrize("kind", [k for k in kinds.KINDS.values() if k.security_alert])
def test_every_alert_may_go_on_every_channel_email_first(kind):
    assert kind.channels == (Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.SLACK,
                             Channel.VOICE)
