"""Audit events: append-only record of security-relevant actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from db.tables import AuditEvent


async def record(action: str, *, user_id: uuid.UUID | None, now: datetime,
                 ip_address: str | None = None, user_agent: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
    """Append one event. ``action`` is dotted (``auth.signin.succeeded``); ``metadata`` must
    hold no secret or password material. Call inside the transaction of the change."""
    await AuditEvent.insert(
        AuditEvent(id=uuid.uuid4(), user_id=user_id, action=action, ip_address=ip_address,
                   user_agent=user_agent, metadata=metadata or {}, created_at=now)
    )


async def list_actions(user_id: uuid.UUID) -> list[str]:
    """The user's event actions, oldest first (used by tests and the security-events feed)."""
    rows = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.user_id == user_id
    ).order_by(AuditEvent.created_at)
    return [r["action"] for r in rows]
