"""The worker's SMS channel: outbox → arq → worker → the real twilio SDK → a local Twilio
stub, and the dev mailbox's SMS inbox."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from db.repositories import outbox, users
from db.tables import OtpCode, OutboxMessage
from domain.messages import kinds
from domain.messages.delivery import OutgoingMessage
from domain.one_time_secrets import consume_code, purposes
from domain.records import UserRecord
from domain.services import RequestInfo
from domain.settings import Settings
from scripts.bootstrap import bootstrap
from scripts.embedded_redis import free_port
from scripts.twilio_stub import (
    DEV_ACCOUNT_SID,
    DEV_AUTH_TOKEN,
    DEV_FROM_NUMBER,
    Reply,
    TwilioStub,
)
from tests.support import register, serving
from worker.channels.sms import SmsChannel

ROOT = Path(__file__).resolve().parents[2]
PHONE, OTHER_PHONE = "+14155552671", "+14155552672"
FROM = "+15005550006"  # the settings fixture's TWILIO_FROM_NUMBER


@pytest.fixture
async def container(settings, clock):
    built = await bootstrap(settings, clock=clock)
    yield built
    await built.close()


async def queue_sms(client, container, email: str, phone: str = PHONE,
                    kind: kinds.MessageKind = kinds.CONTACT_CODE_SMS
                    ) -> tuple[UserRecord, uuid.UUID]:
    """A user registered through the API, and an SMS of ``kind`` to ``phone`` committed
    through a unit of work (the worker picks it up after commit)."""
    assert (await register(client, email)).status_code == 201
    user = await users.get_by_email(email)
    assert user is not None
    async with container.services.unit_of_work(RequestInfo()) as uow:
        message_id = uow.send(kind, user=user, recipient=phone)
    return user, message_id


async def settled(message_id: uuid.UUID, status: str, within: float = 10.0) -> dict:
    """Wait until the worker has moved the message to ``status``; its row."""
    deadline = time.monotonic() + within
    while (row := await outbox.status_of(message_id))["status"] != status:
        assert time.monotonic() < deadline, f"message is {row}, expected {status}"
        await asyncio.sleep(0.02)
    return row


async def provider_id(message_id: uuid.UUID) -> str | None:
    row = await OutboxMessage.select(OutboxMessage.provider_message_id).where(
        OutboxMessage.id == message_id).first()
    return row["provider_message_id"]


async def sms_to(twilio: TwilioStub, number: str, count: int = 1) -> list:
    return await asyncio.to_thread(twilio.wait_for, number, count, 10.0)


async def test_the_sms_carries_a_code_that_the_stored_hmac_accepts(client, container, twilio,
                                                                   settings, clock):
    user, message_id = await queue_sms(client, container, "sms@example.com")
    sms = (await sms_to(twilio, PHONE))[0]
    assert (sms.to, sms.sender) == (PHONE, FROM)
    assert sms.code is not None and len(sms.code) == 6
    assert sms.body == (f"Your latchkey verification code is {sms.code}. "
                        "It expires in 15 minutes.")
    row = await settled(message_id, "sent")
    assert row["attempts"] == 1 and await provider_id(message_id) == sms.sid
    stored = await OtpCode.select().where(OtpCode.user_id == user.id).first()
    assert stored["target"] == PHONE and sms.code not in stored["code_hmac"]
    used = await consume_code(purposes.CONTACT_SMS, user_id=user.id, code=sms.code,
                              settings=settings, now=clock())
    assert used.target == PHONE


async def test_a_sign_in_code_sms_uses_its_own_template(client, container, twilio):
    await queue_sms(client, container, "signin@example.com",
                    kind=kinds.SMS_TWO_FACTOR_CODE)
    sms = (await sms_to(twilio, PHONE))[0]
    assert sms.body == (f"Your latchkey sign-in code is {sms.code}. It expires in 5 minutes. "
                        "Never share it.")


async def test_twilio_429_then_201_delivers_exactly_one_sms(client, container, twilio):
    twilio.replies.append(Reply(429, 20429))
    _, message_id = await queue_sms(client, container, "busy@example.com")
    sms = await sms_to(twilio, PHONE)
    row = await settled(message_id, "sent")
    assert row["attempts"] == 2 and await provider_id(message_id) == sms[0].sid
    await asyncio.sleep(0.3)  # a duplicate would arrive within the retry backoff (50-100 ms)
    assert twilio.requests == 2 and len(twilio.to(PHONE)) == 1


async def test_twilio_21211_fails_the_message_without_a_retry(client, container, twilio):
    twilio.replies.append(Reply(400, 21211))
    _, message_id = await queue_sms(client, container, "invalid@example.com")
    row = await settled(message_id, "failed")
    assert row["attempts"] == 1 and "Twilio 21211" in row["last_error"]
    await asyncio.sleep(0.3)
    assert twilio.requests == 1 and twilio.to(PHONE) == []
    assert await provider_id(message_id) is None


async def test_three_5xx_give_up_after_three_requests(client, container, twilio):
    twilio.replies.extend([Reply(500), Reply(503), Reply(500)])
    _, message_id = await queue_sms(client, container, "down@example.com")
    row = await settled(message_id, "failed")
    assert row["attempts"] == 3 and "Twilio HTTP 500" in row["last_error"]
    await asyncio.sleep(0.5)  # a fourth try would come within 200-400 ms
    assert twilio.requests == 3 and twilio.to(PHONE) == []


async def test_a_5xx_then_201_is_sent_with_its_sid(client, container, twilio):
    twilio.replies.append(Reply(500))
    _, message_id = await queue_sms(client, container, "blip@example.com")
    sms = await sms_to(twilio, PHONE)
    row = await settled(message_id, "sent")
    assert row["attempts"] == 2 and await provider_id(message_id) == sms[0].sid
    assert twilio.requests == 2


async def test_connection_refused_is_retried_until_twilio_answers(settings, clock):
    port = free_port()  # nothing listens here yet: connection refused
    settings = settings.replace(twilio_api_base_url=f"http://127.0.0.1:{port}",
                                delivery_retry_base=0.2)
    late = TwilioStub()
    container = await bootstrap(settings, clock=clock)
    try:
        async with serving(settings, clock) as client:
            _, message_id = await queue_sms(client, container, "refused@example.com")
            deadline = time.monotonic() + 10
            while not ((row := await outbox.status_of(message_id))["last_error"] or ""
                       ).startswith("Twilio unreachable"):
                assert time.monotonic() < deadline, row
                await asyncio.sleep(0.02)
            assert row["status"] == "pending"  # to be retried, not failed
            late.start(port=port)
            sms = await sms_to(late, PHONE)
            row = await settled(message_id, "sent")
            assert row["attempts"] >= 2 and await provider_id(message_id) == sms[0].sid
    finally:
        late.stop()
        await container.close()


async def test_without_credentials_the_message_fails_saying_what_to_set(settings, clock,
                                                                         twilio):
    settings = settings.replace(twilio_account_sid="", twilio_auth_token="")
    container = await bootstrap(settings, clock=clock)
    try:
        async with serving(settings, clock) as client:
            _, message_id = await queue_sms(client, container, "unset@example.com")
            row = await settled(message_id, "failed")
    finally:
        await container.close()
    assert row["attempts"] == 1
    assert row["last_error"] == ("SMS is not configured: set TWILIO_ACCOUNT_SID, "
                                 "TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER")
    assert twilio.requests == 0


async def test_no_sms_body_or_code_reaches_the_log(client, container, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    twilio.replies.extend([Reply(429, 20429), Reply(201), Reply(400, 21610)])
    _, sent_id = await queue_sms(client, container, "log1@example.com")
    sms = (await sms_to(twilio, PHONE))[0]
    await settled(sent_id, "sent")
    _, failed_id = await queue_sms(client, container, "log2@example.com", OTHER_PHONE)
    assert "Twilio 21610" in (await settled(failed_id, "failed"))["last_error"]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "deliver" in logged  # the worker's lines were captured
    for secret in (sms.body, sms.code, "verification code is"):
        assert secret not in logged


def test_the_dev_mailbox_prints_each_sms_with_its_code_last(tmp_path):
    smtp_port, sms_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    proc = subprocess.Popen([sys.executable, "-m", "scripts.mailbox", "--port", str(smtp_port),
                             "--dir", str(tmp_path / "mail"), "--sms-port", str(sms_port)],
                            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert "SMTP sink" in proc.stdout.readline()
        assert f"SMS inbox (Twilio stub) on http://127.0.0.1:{sms_port}" in proc.stdout.readline()
        body = "Your latchkey sign-in code is 123456. It expires in 5 minutes. Never share it."
        request = urllib.request.Request(
            f"http://127.0.0.1:{sms_port}/2010-04-01/Accounts/{DEV_ACCOUNT_SID}/Messages.json",
            data=urllib.parse.urlencode({"To": PHONE, "From": DEV_FROM_NUMBER,
                                         "Body": body}).encode(),
            headers={"Authorization": "Basic " + base64.b64encode(
                f"{DEV_ACCOUNT_SID}:{DEV_AUTH_TOKEN}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        line = proc.stdout.readline().rstrip("\n")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert line == f"[sms] to {PHONE}: {body}  code: 123456"


async def test_the_sms_only_inbox_takes_what_the_worker_sends_with_dev_credentials(tmp_path):
    """The real channel, with the credentials scripts/dev exports when none are set, reaches
    the dev inbox run as scripts/dev runs it (--sms-only when SMTP_HOST is set)."""
    script = (ROOT / "scripts/dev").read_text()
    exported = dict(re.findall(r"\b(TWILIO_\w+)=([^\s$]+)", script))
    sms_port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")},
           **{k: exported[k] for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.mailbox", "--sms-only", "--sms-port", str(sms_port),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    dev = Settings.from_env({"ENVIRONMENT": "development", **exported,
                             "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sms_port}"})
    channel = SmsChannel(dev)
    try:
        assert b"SMS inbox" in await asyncio.wait_for(proc.stdout.readline(), 20)
        message = OutgoingMessage(uuid.uuid4(), kinds.SMS_TWO_FACTOR_ENROL, "sms", PHONE,
                                  {"code": "654321", "expires_in": "5 minutes"})
        sid = await channel.deliver(message)
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().rstrip("\n")
    finally:
        await channel.close()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    assert sid and sid.startswith("SM")
    assert line == (f"[sms] to {PHONE}: Your latchkey verification code is 654321. "
                    "It expires in 5 minutes.  code: 654321")


# What a developer would do by hand while scripts/dev runs: queue an SMS as the API does.
QUEUE_AN_SMS = """
import asyncio, sys
from db.repositories import users
from domain.messages import kinds
from domain.services import RequestInfo
from domain.settings import Settings
from scripts.bootstrap import bootstrap

async def main():
    container = await bootstrap(Settings.from_env())
    user = await users.get_by_email(sys.argv[1])
    async with container.services.unit_of_work(RequestInfo()) as uow:
        uow.send(kinds.SMS_TWO_FACTOR_CODE, user=user, recipient=sys.argv[2])
    await container.close()

asyncio.run(main())
"""


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="runs in the SQLite pass only (scripts/dev brings its own SQLite)")
def test_scripts_dev_without_twilio_credentials_prints_each_sms(tmp_path):
    port, var = free_port(), tmp_path / "var"
    ours = ("ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "PORT", "APP_URL", "SMTP_HOST",
            "SMTP_PORT")
    env = {**{k: v for k, v in os.environ.items() if k not in ours
              and not k.startswith(("TEST_", "RATE_LIMIT_", "TWILIO_"))},
           "TMPDIR": str(tmp_path), "PORT": str(port), "VAR_DIR": str(var),
           "BCRYPT_ROUNDS": "4"}
    out = tmp_path / "dev.log"
    with out.open("w") as sink:
        proc = subprocess.Popen([str(ROOT / "scripts/dev")], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        api = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=5):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
                time.sleep(0.2)
        request = urllib.request.Request(
            f"{api}/v1/auth/register", headers={"content-type": "application/json"},
            data=b'{"email": "dev-sms@example.com", "password": "correct horse battery staple"}')
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        redis_port = re.search(r"embedded_redis --port (\d+)",
                               (var / "Procfile.dev").read_text()).group(1)
        queue_env = {**env, "ENVIRONMENT": "development",
                     "DATABASE_URL": f"sqlite:///{var}/latchkey.sqlite3",
                     "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        subprocess.run([sys.executable, "-c", QUEUE_AN_SMS, "dev-sms@example.com", PHONE],
                       cwd=ROOT, env=queue_env, check=True, timeout=60)
        while "[sms] to" not in out.read_text():
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        time.sleep(0.2)
    finally:
        os.killpg(proc.pid, 2)  # Ctrl-C
        proc.wait(timeout=30)
    output = out.read_text()
    assert "sms          printed below by the dev mailbox (no Twilio credentials)" in output
    line = next(line for line in output.splitlines() if "[sms] to" in line)
    assert re.fullmatch(r"\S+ mailbox\.1\s+\| \[sms\] to \+14155552671: Your latchkey sign-in "
                        r"code is (\d{6})\. It expires in 5 minutes\. Never share it\.  "
                        r"code: \1", line), line
