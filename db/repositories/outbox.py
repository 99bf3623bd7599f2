"""Outbox: messages committed with state, delivered by the worker (ARCHITECTURE.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from db.tables import OutboxMessage
from domain.records import NewMessage, OutboxRecord

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message as an operator sees it: no template ``data`` (it is never read here)."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


async def add_many(messages: Sequence[NewMessage]) -> None:
    """Record messages to send in one INSERT; called by the unit of work inside the
    transaction of the state change, so they commit (or vanish) with it."""
    if messages:
        await OutboxMessage.insert(*(OutboxMessage(**asdict(m), updated_at=m.created_at)
                                     for m in messages))


async def claim(message_id: uuid.UUID, now: datetime) -> OutboxRecord | None:
    """pending -> sending, counting the attempt. None when another run has it or it is done,
    which makes a duplicate arq job a no-op."""
    rows = await OutboxMessage.update(
        {OutboxMessage.status: SENDING, OutboxMessage.attempts: OutboxMessage.attempts + 1,
         OutboxMessage.updated_at: now}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == PENDING)).returning(
        OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.kind, OutboxMessage.channel,
        OutboxMessage.recipient, OutboxMessage.data, OutboxMessage.attempts,
    )
    if not rows:
        return None
    row = rows[0]
    if isinstance(row["data"], str):  # JSON comes back as text on both engines
        row["data"] = json.loads(row["data"])
    return OutboxRecord(**row)


async def finish(message_id: uuid.UUID, *, status: str, now: datetime,
                 error: str | None = None, provider_id: str | None = None) -> None:
    """Move a claimed message to sent, failed, or back to pending for a retry.
    provider_id: the provider's id of the sent message (Twilio's SID), when known."""
    values: dict[Any, Any] = {OutboxMessage.status: status, OutboxMessage.updated_at: now,
                              OutboxMessage.last_error: error}
    if provider_id:
        values[OutboxMessage.provider_message_id] = provider_id[:64]
    if status == SENT:
        values[OutboxMessage.sent_at] = now
    await OutboxMessage.update(values).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.status == SENDING)
    )


async def stale(*, pending_before: datetime, sending_before: datetime,
                limit: int = 500) -> list[uuid.UUID]:
    """Ids of messages whose job may be lost: pending since ``pending_before``, or stuck in
    sending (worker died mid-send) since ``sending_before``. Stuck ones go back to pending."""
    await OutboxMessage.update({OutboxMessage.status: PENDING}).where(
        (OutboxMessage.status == SENDING) & (OutboxMessage.updated_at < sending_before)
    )
    rows = await OutboxMessage.select(OutboxMessage.id).where(
        (OutboxMessage.status == PENDING) & (OutboxMessage.updated_at < pending_before)
    ).order_by(OutboxMessage.updated_at).limit(limit)
    return [r["id"] for r in rows]


async def status_of(message_id: uuid.UUID) -> dict[str, Any] | None:
    """status, attempts, last_error, sent_at of one message (for tests and operators)."""
    return await OutboxMessage.select(
        OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error,
        OutboxMessage.sent_at,
    ).where(OutboxMessage.id == message_id).first()


async def page(*, status: str | None, limit: int,
               before: tuple[datetime, uuid.UUID] | None = None) -> list[OutboxEntry]:
    """Up to ``limit`` messages (of ``status`` when given), newest first, strictly older than
    ``before`` ((created_at, id) of the last one of the previous page: keyset pagination)."""
    where = None
    if status is not None:
        where = OutboxMessage.status == status
    if before is not None:
        at, message_id = before
        older = (OutboxMessage.created_at < at) | (
            (OutboxMessage.created_at == at) & (OutboxMessage.id < message_id))
        where = older if where is None else where & older
    query = OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.kind, OutboxMessage.channel,
        OutboxMessage.recipient, OutboxMessage.status, OutboxMessage.attempts,
        OutboxMessage.last_error, OutboxMessage.created_at, OutboxMessage.sent_at,
    )
    if where is not None:
        query = query.where(where)
    rows = await query.order_by(OutboxMessage.created_at, OutboxMessage.id,
                                ascending=False).limit(limit)
    return [OutboxEntry(**row) for row in rows]


async def requeue_failed(message_id: uuid.UUID, now: datetime) -> OutboxEntry | None:
    """failed -> pending with the attempts reset (an operator's replay); ``last_error`` stays
    until the next outcome. None when the message is unknown or not failed (a concurrent
    replay loses: the condition is in the UPDATE)."""
    rows = await OutboxMessage.update(
        {OutboxMessage.status: PENDING, OutboxMessage.attempts: 0,
         OutboxMessage.updated_at: now}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == FAILED)).returning(
        OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.kind, OutboxMessage.channel,
        OutboxMessage.recipient, OutboxMessage.status, OutboxMessage.attempts,
        OutboxMessage.last_error, OutboxMessage.created_at, OutboxMessage.sent_at,
    )
    return OutboxEntry(**rows[0]) if rows else None
