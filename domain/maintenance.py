"""Scheduled maintenance: outbox sweep and deletion of expired rows. Run by arq cron jobs
in the worker and by ``python -m scripts.cleanup`` for external schedulers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from db.repositories import maintenance, outbox, sessions
from domain.clock import Clock
from domain.settings import Settings

STUCK_SENDING_AFTER = 300  # seconds: longer than any SMTP timeout, so the sender is dead
# Pairing tokens are the record of which sign-in paired which device (issue 9): seconds an
# unused one is kept after it expired, and a used one after it was used.
PAIRING_UNUSED_KEPT = 3600
PAIRING_USED_KEPT = 30 * 86400
# Single sign-on attempts (sso_logins, issue 14) are kept an hour past their expiry: a late
# exchange is still told its code expired (not that it is unknown), and an operator can see it.
SSO_LOGINS_KEPT = 3600


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
    table. Pairing tokens go later: unused ones an hour after expiry, used ones 30 days after
    use (counted under ``one_time_tokens``); single sign-on attempts an hour after both
    their state and their one-time code expired (``sso_logins``)."""
    now = clock()
    cutoff = now - timedelta(seconds=settings.sent_message_retention)
    counts = {table: await _delete_all(settings, table, now=now, cutoff=cutoff)
              for table in maintenance.EXPIRED_ROWS}
    for where in maintenance.PAIRING_ROWS:  # counted with the other one-time tokens
        counts["one_time_tokens"] += await _delete_all(
            settings, "one_time_tokens", where=where,
            now=now - timedelta(seconds=PAIRING_UNUSED_KEPT),
            cutoff=now - timedelta(seconds=PAIRING_USED_KEPT))
    counts["sso_logins"] = await _delete_all(
        settings, "sso_logins", where=maintenance.SSO_LOGIN_ROWS,
        now=now - timedelta(seconds=SSO_LOGINS_KEPT), cutoff=cutoff)
    return counts


async def _delete_all(settings: Settings, table: str, *, now: datetime, cutoff: datetime,
                      where: str | None = None) -> int:
    total = 0
    while True:
        deleted = await maintenance.delete_batch(
            table, now=now, cutoff=cutoff, batch=settings.cleanup_batch_size, where=where)
        total += deleted
        if deleted < settings.cleanup_batch_size:
            return total
        await asyncio.sleep(settings.cleanup_pause)  # let API queries in between batches
