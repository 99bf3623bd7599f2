"""Outbox rows written when the worker routes a security alert: the routes it will deliver
(pending, like any message) and those it only records (push: no sender yet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from db.tables import OutboxMessage
from domain.records import NewMessage

RECORDED = "recorded"  # kept for the record, never delivered: no sender for its channel yet


async def add_recorded(messages: Sequence[NewMessage]) -> None:
    """Store ``messages`` with status "recorded" (the sweep and the worker leave them alone).
    Call inside the transaction that routes the alert."""
    if messages:
        await OutboxMessage.insert(*(OutboxMessage(**asdict(m), status=RECORDED,
                                                   updated_at=m.created_at) for m in messages))
