"""Outbox: messages committed with state, delivered by the worker (ARCHITECTURE.md)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.tables import OutboxMessage

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    channel: str
    recipient: str
    data: dict[str, Any]
    attempts: int


async def add(*, kind: str, recipient: str, user_id: uuid.UUID | None, now: datetime,
              data: dict[str, Any] | None = None, channel: str = "email") -> uuid.UUID:
    """Record a message to send; call inside the transaction of the state change."""
    message_id = uuid.uuid4()
    await OutboxMessage.insert(
        OutboxMessage(id=message_id, kind=kind, channel=channel, recipient=recipient,
                      user_id=user_id, data=data or {}, created_at=now, updated_at=now)
    )
    return message_id


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
                 error: str | None = None) -> None:
    """Move a claimed message to sent, failed, or back to pending for a retry."""
    values: dict[Any, Any] = {OutboxMessage.status: status, OutboxMessage.updated_at: now,
                              OutboxMessage.last_error: error}
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
