"""Scheduled maintenance: outbox sweep and deletion of expired rows. Run by arq cron jobs
in the worker and by ``python -m scripts.cleanup`` for external schedulers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from db.repositories import maintenance, outbox, sessions
from domain.clock import Clock
from domain.settings import Settings

STUCK_SENDING_AFTER = 300  # seconds: longer than any SMTP timeout, so the sender is dead


async def sweep_outbox(settings: Settings, clock: Clock) -> list[uuid.UUID]:
    """Ids of outbox messages whose queue job may be lost (Redis was down, worker died):
    pending for ``outbox_sweep_after`` s, or sending for 300 s. The caller re-enqueues them;
    the job id is the message id, so one still queued is not queued twice."""
    now = clock()
    return await outbox.stale(
        pending_before=now - timedelta(seconds=settings.outbox_sweep_after),
        sending_before=now - timedelta(seconds=STUCK_SENDING_AFTER),
    )


async def recently_revoked_sessions(settings: Settings, clock: Clock) -> list[uuid.UUID]:
    """Sessions revoked within one access-token lifetime: to re-sync the Redis deny-list
    after a Redis outage or restart."""
    return await sessions.revoked_since(clock() - timedelta(seconds=settings.access_token_ttl))


async def delete_expired(settings: Settings, clock: Clock) -> dict[str, int]:
    """Delete expired one-time tokens and codes, expired two-factor challenges, expired
    sessions (with their refresh tokens) and old sent/failed messages in batches of
    ``cleanup_batch_size`` rows, ``cleanup_pause`` seconds apart; returns rows deleted per
    table."""
    now = clock()
    counts: dict[str, int] = {}
    for table in maintenance.EXPIRED_ROWS:
        cutoff = now - timedelta(seconds=settings.sent_message_retention)
        total = 0
        while True:
            deleted = await maintenance.delete_batch(
                table, now=now, cutoff=cutoff, batch=settings.cleanup_batch_size)
            total += deleted
            if deleted < settings.cleanup_batch_size:
                break
            await asyncio.sleep(settings.cleanup_pause)  # let API queries in between batches
        counts[table] = total
    return counts
