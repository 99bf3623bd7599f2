"""Outbox figures for the metrics endpoints (api/observability.py, worker/metrics.py)."""

from __future__ import annotations

from datetime import datetime

from piccolo.query.functions.aggregate import Count, Min

from db.tables import OutboxMessage

UNSENT = ("pending", "sending")  # committed, not yet delivered nor given up on


async def unsent_summary() -> tuple[int, datetime | None]:
    """(messages not yet delivered, creation time of the oldest of them or None), in one
    query over the ``status`` index; read at each scrape."""
    row = await OutboxMessage.select(
        Count(alias="unsent"), Min(OutboxMessage.created_at, alias="oldest"),
    ).where(OutboxMessage.status.is_in(list(UNSENT))).first()
    if row is None:
        return 0, None
    oldest = row["oldest"]
    if isinstance(oldest, str):  # SQLite returns an aggregate of timestamps as text
        oldest = datetime.fromisoformat(oldest)
    return int(row["unsent"] or 0), oldest
