"""Audit events: append-only record of security-relevant actions."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
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


async def is_new_device(user_id: uuid.UUID, user_agent: str | None, *, since: datetime) -> bool:
    """True when the user has signed in before, but not with this user agent since ``since``
    (the very first sign-in after registration is not "new")."""
    signed_in = (AuditEvent.user_id == user_id) & (AuditEvent.action == "auth.signin.succeeded")
    if not await AuditEvent.exists().where(signed_in):
        return False
    same = (AuditEvent.user_agent.is_null() if user_agent is None
            else AuditEvent.user_agent == user_agent)
    return not await AuditEvent.exists().where(signed_in & same & (AuditEvent.created_at >= since))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: uuid.UUID
    action: str
    ip_address: str | None
    user_agent: str | None
    metadata: dict[str, Any]
    created_at: datetime


async def page(user_id: uuid.UUID, *, limit: int,
               before: tuple[datetime, uuid.UUID] | None = None) -> list[AuditRecord]:
    """Up to ``limit`` events of the user, newest first, strictly older than ``before``
    ((created_at, id) of the last event of the previous page: keyset pagination)."""
    where = AuditEvent.user_id == user_id
    if before is not None:
        at, event_id = before
        where &= (AuditEvent.created_at < at) | (
            (AuditEvent.created_at == at) & (AuditEvent.id < event_id))
    rows = await AuditEvent.select(
        AuditEvent.id, AuditEvent.action, AuditEvent.ip_address, AuditEvent.user_agent,
        AuditEvent.metadata, AuditEvent.created_at,
    ).where(where).order_by(AuditEvent.created_at, AuditEvent.id, ascending=False).limit(limit)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return [AuditRecord(**row) for row in rows]
