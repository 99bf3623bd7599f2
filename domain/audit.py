"""The caller's own audit trail (GET /v1/auth/security-events), newest first."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Protocol

from db.repositories import audit
from domain.errors import ValidationFailed
from domain.records import AuditRecord

MAX_PAGE = 100


class Keyed(Protocol):
    created_at: datetime
    id: uuid.UUID


def encode_cursor(item: Keyed) -> str:
    """The keyset cursor after ``item`` (newest-first lists): base64url of ``created_at|id``."""
    raw = f"{item.created_at.isoformat()}|{item.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """raises ValidationFailed for a cursor this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, event_id = raw.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        # a timestamp at the edge of the calendar overflows when moved to UTC (ASVS 5.1.4)
        return moment.astimezone(UTC), uuid.UUID(event_id)
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed([("cursor", "is not a cursor from a previous page")]) from exc


async def security_events(user_id: uuid.UUID, *, limit: int, cursor: str | None
                          ) -> tuple[list[AuditRecord], str | None]:
    """(events, next cursor or None). limit: 1..100."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed([("limit", f"must be between 1 and {MAX_PAGE}")])
    before = decode_cursor(cursor) if cursor else None
    events = await audit.page(user_id, limit=limit + 1, before=before)
    more = len(events) > limit
    events = events[:limit]
    return events, (encode_cursor(events[-1]) if more else None)
