"""arq jobs: thin coroutines that call the domain with what the worker built at startup."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from typing import Any

import asyncpg
from arq import Retry

from db.redis.queue import enqueue_messages
from domain import maintenance
from domain.errors import PermanentDeliveryError
from domain.messages.delivery import Outcome, OutgoingMessage, deliver
from domain.messages.kinds import Channel
from domain.settings import Settings
from worker.channels import DeliveryChannel
from worker.channels.email import SmtpChannel
from worker.channels.sms import SmsChannel

log = logging.getLogger("latchkey.worker")

MAX_BACKOFF = 300.0  # seconds between two delivery attempts, at most


# The database is away or busy, not wrong: asyncpg's lost or refused connections (08xxx),
# an administrator's or crash shutdown, "too many connections", a closed pool or connection
# (InterfaceError), the socket's own errors (OSError covers refused, reset and TimeoutError).
DATABASE_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.InsufficientResourcesError,
    OSError, ConnectionError,
)
SQLITE_OUTAGES = ("database is locked", "database table is locked", "unable to open database",
                  "disk i/o error")


def database_outage(exc: BaseException) -> bool:
    """True for an error that says the database cannot be reached or is busy (worth retrying
    the whole job), as opposed to a bug or a constraint: asyncpg's connection errors, OSError,
    SQLite's "database is locked" (another writer held the lock past the busy timeout)."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in SQLITE_OUTAGES)
    return isinstance(exc, DATABASE_OUTAGES)


def backoff(job_try: int, base: float) -> float:
    """Seconds before attempt ``job_try + 1``: base * 2^(try-1), capped at 5 min."""
    return min(base * 2 ** (job_try - 1), MAX_BACKOFF)


class Sender:
    """Hands an OutgoingMessage to the channel its outbox row names (from the kind's
    declaration in the registry); each channel renders its own templates. A channel that
    is not configured here raises PermanentDeliveryError."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = SmtpChannel(settings)
        self.channels: dict[str, DeliveryChannel] = {Channel.EMAIL.value: self.email,
                                               Channel.SMS.value: SmsChannel(settings)}

    async def __call__(self, message: OutgoingMessage) -> str | None:
        channel = self.channels.get(message.channel)
        if channel is None:
            raise PermanentDeliveryError(f"no {message.channel} channel configured")
        return await channel.deliver(message)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


async def deliver_message(ctx: dict[str, Any], message_id: str) -> str:
    """Deliver one outbox message, or route a security alert into one message per channel
    and enqueue those; safe to run twice (the claim makes the rerun a no-op).

    A database outage during the job (see :func:`database_outage`) retries it with the same
    backoff as a transient send error; nothing was sent unless the claim had committed (see
    domain/messages/delivery.py for the at-least-once rule). When arq's tries run out the row
    is still pending and the outbox sweep enqueues it again."""
    settings: Settings = ctx["settings"]
    job_try: int = ctx.get("job_try", 1)
    try:
        outcome = await deliver(
            uuid.UUID(message_id), send=ctx["sender"], settings=settings, clock=ctx["clock"],
            final_attempt=job_try >= settings.delivery_max_tries,
            dispatch=ctx["container"].services.dispatch,  # the routes of a security alert
        )
    except Exception as exc:
        if not database_outage(exc):
            raise
        delay = backoff(job_try, settings.delivery_retry_base)
        log.warning("message %s: the database is unavailable (%s); job retried in %.1f s",
                    message_id, type(exc).__name__, delay)
        raise Retry(defer=delay) from None
    if outcome is Outcome.RETRY:
        raise Retry(defer=backoff(job_try, settings.delivery_retry_base))
    if outcome is Outcome.FAILED:
        log.warning("message %s failed for good after %d attempts", message_id, job_try)
    return outcome.value


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: re-enqueue outbox messages whose job was lost, and re-sync the deny-list.
    Quiet when there was nothing to do (it runs every 10 s; worker/settings.py keeps arq's
    own lines about it off the log): one INFO line when it requeued a message or restored a
    deny-list entry that Redis had lost."""
    settings, clock = ctx["settings"], ctx["clock"]
    stale = await maintenance.sweep_outbox(settings, clock)
    queued = await enqueue_messages(ctx["redis"], stale)
    revoked = await maintenance.recently_revoked_sessions(settings, clock)
    services = ctx["container"].services
    missing = await services.denylist.missing(revoked)
    await services.end_sessions(revoked)
    if queued or missing:
        log.info("sweep: re-enqueued %d of %d stale outbox messages, restored %d lost "
                 "deny-list entries", queued, len(stale), missing)
    return {"stale": len(stale), "requeued": queued, "revoked_synced": len(revoked),
            "restored": missing}



async def delete_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: delete expired tokens, dead sessions and old messages."""
    counts = await maintenance.delete_expired(ctx["settings"], ctx["clock"])
    if any(counts.values()):
        log.info("cleanup deleted %s", counts)
    return counts
