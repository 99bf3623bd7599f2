"""The outbox -> arq -> worker -> SMTP pipeline under faults."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from api.app import create_app
from db.repositories import outbox
from db.tables import OutboxMessage
from domain.messages.delivery import deliver
from scripts.bootstrap import bootstrap
from scripts.embedded_redis import EmbeddedRedis
from tests.support import lifespan, register, running_worker, wait_mail
from worker.tasks import Sender, sweep


async def message_for(address: str) -> uuid.UUID:
    row = await OutboxMessage.select(OutboxMessage.id).where(
        OutboxMessage.recipient == address).first()
    return row["id"]


async def settled(message_id: uuid.UUID, status: str, within: float = 5.0) -> dict:
    """Wait until the worker has moved the message to ``status``."""
    deadline = time.monotonic() + within
    while (row := await outbox.status_of(message_id))["status"] != status:
        assert time.monotonic() < deadline, f"message is {row}, expected {status}"
        await asyncio.sleep(0.02)
    return row


async def test_smtp_451_then_250_is_delivered_once(client, mailbox):
    mailbox.replies.append("451 4.3.0 Temporary failure, try again")
    await register(client, "retry@example.com")
    mails = await wait_mail(mailbox, "retry@example.com")
    row = await settled(await message_for("retry@example.com"), "sent")
    assert mailbox.refused == 1 and row["attempts"] == 2
    await asyncio.sleep(0.3)  # a duplicate would arrive within the retry backoff (50-100 ms)
    assert len(mailbox.to("retry@example.com")) == len(mails) == 1


async def test_smtp_550_marks_failed_and_is_not_retried(client, mailbox):
    mailbox.replies.append("550 5.1.1 No such user")
    await register(client, "bounce@example.com")
    row = await settled(await message_for("bounce@example.com"), "failed")
    assert row["attempts"] == 1 and "550" in row["last_error"]
    await asyncio.sleep(0.3)
    assert mailbox.refused == 1 and mailbox.to("bounce@example.com") == []


async def test_a_job_that_runs_twice_sends_once(client, mailbox, settings, clock):
    await register(client, "twice@example.com")
    await wait_mail(mailbox, "twice@example.com")
    message_id = await message_for("twice@example.com")
    sender = Sender(settings)
    again = await deliver(message_id, send=sender, settings=settings, clock=clock,
                          final_attempt=False)
    await sender.close()
    assert again == "skipped"
    assert len(mailbox.to("twice@example.com")) == 1


async def test_register_while_redis_is_down_still_delivers_later(settings, clock, mailbox):
    redis_server = EmbeddedRedis().start()
    settings = settings.replace(redis_url=redis_server.url)
    app = create_app(settings, clock)
    try:
        async with lifespan(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            redis_server.stop()
            started = time.monotonic()
            response = await register(client, "outage@example.com")
            assert response.status_code == 201, response.text
            assert time.monotonic() - started < 2.0
            redis_server.start()
            clock.advance(seconds=settings.outbox_sweep_after + 1)
            container = await bootstrap(settings, clock=clock)
            redis = container.redis
            async with running_worker(settings, clock):
                swept = await sweep({"settings": settings, "clock": clock, "redis": redis,
                                     "container": container})
                assert swept["requeued"] == 1
                mail = (await wait_mail(mailbox, "outage@example.com"))[0]
                assert mail.subject == "Verify your email address"
            await container.close()
    finally:
        redis_server.stop()
