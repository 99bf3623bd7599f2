"""arq jobs: thin coroutines that call the domain with what the worker built at startup."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import Retry

from db.denylist import RedisSessionDenylist
from domain import cleanup, messages
from domain.messages import Outcome, OutgoingMessage
from domain.settings import Settings
from worker.channels.email import SmtpChannel
from worker.queue import enqueue_messages
from worker.templates import render

log = logging.getLogger("latchkey.worker")

MAX_BACKOFF = 300.0  # seconds between two delivery attempts, at most


def backoff(job_try: int, base: float) -> float:
    """Seconds before attempt ``job_try + 1``: base * 2^(try-1), capped at 5 min."""
    return min(base * 2 ** (job_try - 1), MAX_BACKOFF)


class Sender:
    """Renders an OutgoingMessage and hands it to its channel."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = SmtpChannel(settings)

    async def __call__(self, message: OutgoingMessage) -> None:
        if message.channel != "email":
            raise ValueError(f"no channel {message.channel!r}")
        await self.email.send(render(message, sender=self.settings.mail_from))

    async def close(self) -> None:
        await self.email.close()


async def deliver_message(ctx: dict[str, Any], message_id: str) -> str:
    """Deliver one outbox message; safe to run twice (the claim makes the rerun a no-op)."""
    settings: Settings = ctx["settings"]
    job_try: int = ctx.get("job_try", 1)
    outcome = await messages.deliver(
        uuid.UUID(message_id), send=ctx["sender"], settings=settings, clock=ctx["clock"],
        final_attempt=job_try >= settings.delivery_max_tries,
    )
    if outcome is Outcome.RETRY:
        raise Retry(defer=backoff(job_try, settings.delivery_retry_base))
    if outcome is Outcome.FAILED:
        log.warning("message %s failed for good after %d attempts", message_id, job_try)
    return outcome.value


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: re-enqueue outbox messages whose job was lost, and re-sync the deny-list."""
    settings, clock = ctx["settings"], ctx["clock"]
    stale = await cleanup.sweep_outbox(settings, clock)
    queued = await enqueue_messages(ctx["redis"], stale)
    revoked = await cleanup.recently_revoked_sessions(settings, clock)
    await RedisSessionDenylist(ctx["redis"]).add_many(revoked, settings.access_token_ttl)
    return {"stale": len(stale), "requeued": queued, "revoked_synced": len(revoked)}


async def delete_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: delete expired tokens, dead sessions and old messages."""
    counts = await cleanup.delete_expired(ctx["settings"], ctx["clock"])
    log.info("cleanup deleted %s", counts)
    return counts
