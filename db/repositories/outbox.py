"""Outbox: messages committed with state, delivered by the worker (ARCHITECTURE.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from db.tables import OutboxMessage
from domain.records import NewMessage, OutboxRecord

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"



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
