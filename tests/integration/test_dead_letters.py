"""Dead letters and replay: the admin's view of the outbox (filtered, masked, paged, never a
template secret), the retry of a failed message delivering a working fresh link, the 403/404/
409 cases, the audit trail, and ``python -m scripts.messages`` as an operator runs it —
through the real app, worker, database, Redis and SMTP sink."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from db.repositories import outbox, users
from db.tables import AuditEvent, OutboxMessage
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from domain.records import NewMessage
from tests.environment import DATABASE_URL, REDIS_URL
from tests.support import PASSWORD, bearer, register, sign_in, token_of, wait_mail

ROOT = Path(__file__).resolve().parents[2]
SECRET_DATA = "template-value-never-shown"


@pytest.fixture
async def admin(client, settings, clock) -> tuple[uuid.UUID, dict[str, str]]:
    """(id, Authorization header) of a verified admin written straight to the database."""
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()
    user = await users.insert(email="root@example.com", password_hash=password_hash,
                              name="Root", now=clock(), roles=["admin"], verified=True)
    signed = await sign_in(client, "root@example.com")
    assert signed.status_code == 200, signed.text
    return user.id, bearer(signed.json()["accessToken"])


async def message_to(address: str) -> uuid.UUID:
    row = await OutboxMessage.select(OutboxMessage.id).where(
        OutboxMessage.recipient == address).first()
    return row["id"]


async def settled(message_id: uuid.UUID, status: str, within: float = 5.0) -> dict:
    for _ in range(int(within / 0.02)):
        row = await outbox.status_of(message_id)
        if row["status"] == status:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"message is {row}, expected {status}")


async def bounced(client, mailbox, address: str) -> uuid.UUID:
    """Register ``address`` while the SMTP server refuses it: a failed verification email."""
    mailbox.replies.append(f"550 5.1.1 <{address}>: no such user")
    assert (await register(client, address)).status_code == 201
    message_id = await message_to(address)
    await settled(message_id, "failed")
    return message_id


async def add(*rows: tuple[str, str, str, str], clock) -> list[uuid.UUID]:
    """Outbox rows (kind, channel, recipient, status) written directly, one second apart."""
    ids = []
    for kind, channel, recipient, status in rows:
        clock.advance(seconds=1)
        message_id = uuid.uuid4()
        await outbox.add_many([NewMessage(id=message_id, kind=kind, channel=channel,
                                          recipient=recipient, user_id=None,
                                          data={"name": SECRET_DATA}, created_at=clock())])
        await OutboxMessage.update({OutboxMessage.status: status,
                                    OutboxMessage.last_error: f"refused {recipient}"}).where(
            OutboxMessage.id == message_id)
        ids.append(message_id)
    return ids


async def test_list_filters_by_status_masks_recipients_and_shows_no_template_data(
        client, mailbox, admin, clock):
    admin_id, auth = admin
    failed_id = await bounced(client, mailbox, "bounce@example.com")
    await register(client, "fine@example.com")
    await wait_mail(mailbox, "fine@example.com")
    await settled(await message_to("fine@example.com"), "sent")
    sms_id, push_id = await add(("login_alert", "sms", "+14155552671", "failed"),
                                ("login_alert", "push", "ignored", "pending"), clock=clock)

    response = await client.get("/v1/admin/messages?status=failed", headers=auth)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["nextCursor"] is None
    assert [i["id"] for i in page["items"]] == [str(sms_id), str(failed_id)]  # newest first
    sms, email = page["items"]
    assert email["recipient"] == "bo***@example.com" and email["channel"] == "email"
    assert email["kind"] == "verify_email" and email["status"] == "failed"
    assert email["attempts"] == 1 and "550" in email["lastError"]
    assert "bounce@example.com" not in response.text  # not even in the SMTP error text
    assert sms["recipient"] == "+1******2671" and "+14155552671" not in response.text
    assert email["createdAt"] and email["sentAt"] is None
    assert set(email) == {"id", "kind", "channel", "recipient", "status", "attempts",
                          "lastError", "createdAt", "sentAt"}
    assert SECRET_DATA not in response.text and "token" not in response.text

    pending = (await client.get("/v1/admin/messages?status=pending", headers=auth)).json()
    assert [i["id"] for i in pending["items"]] == [str(push_id)]
    assert pending["items"][0]["recipient"] == "***"  # a push without a user: nobody named
    sent = (await client.get("/v1/admin/messages?status=sent", headers=auth)).json()
    assert [i["recipient"] for i in sent["items"]] == ["fi***@example.com"]
    assert sent["items"][0]["sentAt"] is not None
    everything = (await client.get("/v1/admin/messages", headers=auth)).json()
    assert len(everything["items"]) == 4

    listed = await AuditEvent.select().where(
        AuditEvent.action == AuditAction.MESSAGES_LISTED.value)
    assert len(listed) == 4 and {e["actor_id"] for e in listed} == {admin_id}
    bad = await client.get("/v1/admin/messages?status=lost", headers=auth)
    assert bad.status_code == 400


async def test_cursor_pages_through_every_message_once_newest_first(client, admin, clock):
    _, auth = admin
    ids = await add(*[("verify_email", "email", f"user{n}@example.com", "failed")
                      for n in range(5)], clock=clock)
    seen, cursor = [], None
    for _ in range(3):
        query = "status=failed&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/admin/messages?{query}", headers=auth)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
    assert cursor is None
    assert seen == [str(i) for i in reversed(ids)]
    garbage = await client.get("/v1/admin/messages?cursor=bm90IGEgY3Vyc29y", headers=auth)
    assert garbage.status_code == 400 and garbage.json()["errors"][0]["field"] == "cursor"


async def test_retry_of_a_failed_message_delivers_a_working_fresh_link(
        client, mailbox, admin, clock):
    admin_id, auth = admin
    message_id = await bounced(client, mailbox, "late@example.com")
    user = await users.get_by_email("late@example.com")

    response = await client.post(f"/v1/admin/messages/{message_id}/retry", headers=auth)
    assert response.status_code == 202, response.text
    assert response.json() == {"id": str(message_id), "status": "pending"}
    (mail,) = await wait_mail(mailbox, "late@example.com")
    subject = mail.subject
    row = await settled(message_id, "sent")
    assert row["attempts"] == 1 and row["last_error"] is None  # reset, then one good try
    assert str(mail.message["Message-ID"]) == f"<{message_id}@latchkey>"
    verified = await client.post("/v1/auth/verify-email",
                                 json={"token": token_of(mail.links[0])})
    assert verified.status_code == 200, verified.text

    again = await client.post(f"/v1/admin/messages/{message_id}/retry", headers=auth)
    assert again.status_code == 409 and again.json()["type"] == "message_not_failed"
    await asyncio.sleep(0.2)
    assert len(mailbox.to("late@example.com", subject)) == 1  # the 409 queued nothing
    retried = await AuditEvent.select().where(
        AuditEvent.action == AuditAction.MESSAGE_RETRIED.value)
    assert [(e["user_id"], e["actor_id"]) for e in retried] == [(user.id, admin_id)]


async def test_retry_is_404_for_unknown_409_unless_failed_403_for_a_user(
        client, mailbox, admin, clock):
    _, auth = admin
    unknown = await client.post(f"/v1/admin/messages/{uuid.uuid4()}/retry", headers=auth)
    assert unknown.status_code == 404
    (pending,) = await add(("verify_email", "email", "wait@example.com", "pending"),
                           clock=clock)
    assert (await client.post(f"/v1/admin/messages/{pending}/retry",
                              headers=auth)).status_code == 409
    assert (await outbox.status_of(pending))["status"] == "pending"

    failed_id = await bounced(client, mailbox, "user@example.com")
    await users.mark_email_verified((await users.get_by_email("user@example.com")).id, clock())
    token = (await sign_in(client, "user@example.com")).json()["accessToken"]
    assert (await client.get("/v1/admin/messages", headers=bearer(token))).status_code == 403
    forbidden = await client.post(f"/v1/admin/messages/{failed_id}/retry",
                                  headers=bearer(token))
    assert forbidden.status_code == 403
    assert (await client.get("/v1/admin/messages")).status_code == 401
    assert (await outbox.status_of(failed_id))["status"] == "failed"


async def cli(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.messages", *args, cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_lists_and_retries_like_the_api(client, mailbox, clock):
    message_id = await bounced(client, mailbox, "shell@example.com")
    user = await users.get_by_email("shell@example.com")

    status, out, err = await cli("list", "--status", "failed")
    assert status == 0, err
    assert str(message_id) in out and "sh***@example.com" in out
    assert "shell@example.com" not in out
    status, out, _ = await cli("list", "--status", "sent", "--json")
    assert status == 0 and out.strip() == '{"items": [], "nextCursor": null}'

    status, out, err = await cli("retry", str(message_id))
    assert status == 0, err
    assert out.strip() == f'{{"id": "{message_id}", "status": "pending"}}'
    mail = (await wait_mail(mailbox, "shell@example.com"))[-1]
    await settled(message_id, "sent")
    assert (await client.post("/v1/auth/verify-email",
                              json={"token": token_of(mail.links[0])})).status_code == 200

    status, _, err = await cli("retry", str(message_id))
    assert status == 1 and "Only a failed message" in err
    status, _, err = await cli("retry", str(uuid.uuid4()))
    assert status == 1 and "No such message" in err
    retried = await AuditEvent.select().where(
        AuditEvent.action == AuditAction.MESSAGE_RETRIED.value)
    assert [(e["user_id"], e["actor_id"]) for e in retried] == [(user.id, None)]
