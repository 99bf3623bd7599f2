"""Outbox rows written when the worker routes a security alert: the routes it will deliver
(pending, like any message) and those it only records (push, slack, voice: no sender yet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from db.tables import OutboxMessage
from domain.records import NewMessage

RECORDED = "recorded"  # kept for the record, never delivered: no sender for its channel yet


async def add_recorded(recorded: Sequence[tuple[NewMessage, str]]) -> None:
    """Store each (message, reason) with status "recorded" and the reason it was not sent in
    ``last_error`` (the sweep and the worker leave these rows alone). Call inside the
    transaction that routes the alert."""
    if recorded:
        await OutboxMessage.insert(*(
            OutboxMessage(**asdict(m), status=RECORDED, last_error=reason,
                          updated_at=m.created_at) for m, reason in recorded))
