"""On-call readiness and channels (issue 13): ``canBeOnCall``, push verified by a registered
device, the slack and voice preferences, and alerts routed to them recorded, not sent."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from db.tables import OutboxMessage, User
from domain.contacts.preferences import Preference
from domain.contacts.verification import ContactStatus
from domain.messages import kinds
from domain.messages.kinds import Channel
from domain.messages.routing import choose
from domain.records import UserRecord
from tests.integration.test_alert_routing import (
    NEW_DEVICE,
    PHONE,
    new_device_sign_in,
    prefer,
    routes_of,
    signed_in,
    verify_phone,
)
from tests.integration.test_contacts import mailed_code
from tests.support import PASSWORD, wait_mail

SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
STATUS = "/v1/notifications/verification/status"
SEND = "/v1/notifications/verification/send"


async def status(client, auth) -> dict:
    response = await client.get(STATUS, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def add_device(client, auth, token: str = "tok-1") -> str:
    response = await client.post("/v1/notifications/devices", headers=auth,
                                 json={"platform": "ios", "deviceToken": token})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# --- canBeOnCall and push verification ----------------------------------------------------

async def test_can_be_on_call_once_email_phone_and_push_are_verified(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "oncall@example.com")
    # as an account whose address is not proven yet (the access token stays valid)
    await User.update({User.email_verified_at: None}).where(
        User.email_lower == "oncall@example.com")
    assert (await status(client, auth))["canBeOnCall"] is False

    assert (await client.post(SEND, headers=auth, json={"method": "email"})).status_code == 202
    code = await mailed_code(mailbox, "oncall@example.com")
    verified = await client.post("/v1/notifications/verification/verify", headers=auth,
                                 json={"method": "email", "code": code})
    assert verified.status_code == 200, verified.text
    now = await status(client, auth)
    assert now["email"]["verified"] and not now["canBeOnCall"]

    await verify_phone(client, twilio, auth)
    now = await status(client, auth)
    assert now["phone"]["verified"] and not now["canBeOnCall"] and not now["allVerified"]

    await add_device(client, auth)
    push = await client.post(SEND, headers=auth, json={"method": "push"})
    assert push.status_code == 200 and push.json() == {"success": True, "method": "push"}
    now = await status(client, auth)
    assert now["push"] == {"verified": True, "deviceCount": 1}
    assert now["canBeOnCall"] is True and now["allVerified"] is True


async def test_push_is_not_verified_without_a_registered_device(client, mailbox):
    auth = await signed_in(client, mailbox, "nopush@example.com")
    refused = await client.post(SEND, headers=auth, json={"method": "push"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "no_push_device"

    device = await add_device(client, auth)
    assert (await client.post(SEND, headers=auth, json={"method": "push"})).status_code == 200
    removed = await client.delete(f"/v1/notifications/devices/{device}", headers=auth)
    assert removed.status_code == 204
    assert (await client.post(SEND, headers=auth, json={"method": "push"})).status_code == 409
    assert (await status(client, auth))["canBeOnCall"] is False


def test_can_be_on_call_needs_all_three():
    for email, phone, devices in itertools.product((False, True), (False, True), (0, 2)):
        found = ContactStatus("a***@example.com", email, "+1******2671", phone, devices)
        assert found.can_be_on_call is (email and phone and devices > 0)


# --- slack and voice ------------------------------------------------------------------------

async def test_slack_and_voice_are_preference_channels(client, mailbox):
    auth = await signed_in(client, mailbox, "five@example.com")
    wanted = [{"channel": c, "enabled": True, "priority": p}
              for c, p in (("voice", 2), ("slack", 1), ("email", 3), ("sms", 4), ("push", 5))]
    response = await client.put("/v1/notifications/preferences", headers=auth,
                                json={"preferences": wanted})
    assert response.status_code == 200, response.text
    shown = await client.get("/v1/notifications/preferences", headers=auth)
    assert [p["channel"] for p in shown.json()["preferences"]] == [
        "slack", "voice", "email", "sms", "push"]


async def recorded(kind: kinds.MessageKind) -> list[dict]:
    return await OutboxMessage.select(
        OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.last_error,
        OutboxMessage.sent_at).where((OutboxMessage.kind == kind.name)
                                     & (OutboxMessage.status == "recorded"))


async def test_an_alert_for_slack_is_recorded_and_goes_by_email(client, mailbox):
    auth = await signed_in(client, mailbox, "slack@example.com")
    await prefer(client, auth, ("slack", True, 1), ("email", False, 2))
    await new_device_sign_in(client, "slack@example.com")

    mail = await wait_mail(mailbox, "slack@example.com", subject=NEW_DEVICE)
    assert "Firefox on Ubuntu" in mail[0].text  # nothing else can deliver: email
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 2)
    assert sorted((r["channel"], r["status"]) for r in routes) == [
        ("email", "sent"), ("slack", "recorded")]
    user_id = (await User.select(User.id).where(User.email_lower == "slack@example.com")
               .first())["id"]
    [slack] = await recorded(kinds.NEW_DEVICE_ALERT)
    assert slack == {"channel": "slack", "recipient": str(user_id), "sent_at": None,
                     "last_error": "not delivered: no Slack integration yet"}


async def test_voice_is_recorded_for_a_verified_phone_only(client, mailbox, twilio):
    auth = await signed_in(client, mailbox, "voice@example.com")
    await prefer(client, auth, ("voice", True, 1), ("email", True, 2))
    await new_device_sign_in(client, "voice@example.com")
    await wait_mail(mailbox, "voice@example.com", subject=NEW_DEVICE)
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 1)
    assert [r["channel"] for r in routes] == ["email"]  # no verified number: no voice row

    await verify_phone(client, twilio, auth)
    texts = len(twilio.received)
    await prefer(client, auth, ("voice", True, 1), ("sms", False, 2), ("email", False, 3))
    await OutboxMessage.delete().where(OutboxMessage.kind == kinds.NEW_DEVICE_ALERT.name)
    again = await client.post("/v1/auth/signin", headers={"user-agent": SAFARI},
                              json={"email": "voice@example.com", "password": PASSWORD})
    assert again.status_code == 200, again.text
    await wait_mail(mailbox, "voice@example.com", count=2, subject=NEW_DEVICE)
    routes = await routes_of(kinds.NEW_DEVICE_ALERT, 2)
    assert sorted(r["channel"] for r in routes) == ["email", "voice"]
    [voice] = await recorded(kinds.NEW_DEVICE_ALERT)
    assert (voice["recipient"], voice["last_error"]) == (
        PHONE, "not delivered: no voice sender yet")
    assert len(twilio.received) == texts  # nothing texted or called


# --- the choice, as a pure function ---------------------------------------------------------

def person(*, phone: bool) -> UserRecord:
    now = datetime.now(UTC)
    return UserRecord(id=uuid.uuid4(), email="p@example.com", password_hash="x", name=None,
                      email_verified_at=now, roles=["user"], is_active=True, created_at=now,
                      phone_number=PHONE if phone else None,
                      phone_verified_at=now if phone else None)


@pytest.mark.parametrize(("phone", "expected"), [
    (True, [Channel.SLACK, Channel.VOICE, Channel.EMAIL]),
    (False, [Channel.SLACK, Channel.EMAIL]),
])
def test_slack_and_voice_never_replace_a_sender(phone, expected):
    wanted = [Preference("slack", True, 1), Preference("voice", True, 2),
              Preference("email", False, 3)]
    assert choose(kinds.NEW_DEVICE_ALERT, person(phone=phone), wanted) == expected


def test_sms_first_then_voice_needs_no_email_fallback():
    wanted = [Preference("sms", True, 1), Preference("voice", True, 2)]
    assert choose(kinds.NEW_DEVICE_ALERT, person(phone=True), wanted) == [
        Channel.SMS, Channel.VOICE]
