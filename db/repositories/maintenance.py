"""Batched deletes of expired rows, for the cleanup job."""

from __future__ import annotations

import re
from datetime import datetime

from db.tables import AuditEvent

# table -> WHERE clause of dead rows; {now} is the current time, {cutoff} the retention limit.
# One indexed condition each: an OR made PostgreSQL scan the whole table for every batch.
# Used tokens and revoked sessions go when they expire (hours to days later).
EXPIRED_ROWS: dict[str, str] = {
    "one_time_tokens": "expires_at < {now} AND purpose <> 'pair_device'",  # see PAIRING_ROWS
    "otp_codes": "expires_at < {now}",
    "two_factor_challenges": "expires_at < {now}",  # answered or not: 5 minutes each
    "sessions": "expires_at < {now}",
    "outbox_messages": "updated_at < {cutoff} AND status IN ('sent', 'failed', 'recorded')",
}

# Pairing tokens outlive their expiry as the record of which sign-in paired which device:
# unused ones go an hour after they expired ({now} = an hour ago), used ones 30 days after
# use ({cutoff} = 30 days ago; expires_at is the indexed condition, used_at the exact one).
PAIRING_ROWS: tuple[str, ...] = (
    "expires_at < {now} AND purpose = 'pair_device' AND used_at IS NULL",
    "expires_at < {cutoff} AND purpose = 'pair_device' AND used_at < {cutoff}",
)

# Single sign-on attempts: dead when their state has expired and so has the one-time code
# handed to the app, if any (a code may outlive its state by SSO_CODE_TTL). {now} is moved
# back by a margin (domain.maintenance.SSO_LOGINS_KEPT); expires_at is the indexed condition.
SSO_LOGIN_ROWS = "expires_at < {now} AND (code_expires_at IS NULL OR code_expires_at < {now})"


async def delete_batch(table: str, *, now: datetime, cutoff: datetime, batch: int,
                       where: str | None = None) -> int:
    """Delete up to ``batch`` dead rows of ``table`` (those matching ``where``, default
    ``EXPIRED_ROWS[table]``); returns how many went.

    Small batches keep each write transaction short so the API never waits long on a lock.
    """
    args: list[datetime] = []

    def bind(match: re.Match[str]) -> str:
        args.append(now if match.group(1) == "now" else cutoff)
        return "{}"

    where = re.sub(r"\{(now|cutoff)\}", bind, where or EXPIRED_ROWS[table])
    rows = await AuditEvent.raw(
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} "
        f"LIMIT {int(batch)}) RETURNING id",
        *args,
    )
    return len(rows)
