"""Audit events: append-only record of security-relevant actions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from db.tables import AuditEvent
from domain.names import AuditAction
from domain.records import AuditRecord, NewAuditEvent


async def record_many(events: Sequence[NewAuditEvent]) -> None:
    """Append events in one INSERT. ``action`` is dotted (``auth.signin.succeeded``);
    ``metadata`` holds no secret or password material. Called by the unit of work inside
    the transaction of the change."""
    if events:
        await AuditEvent.insert(*(AuditEvent(id=uuid.uuid4(), **asdict(e)) for e in events))


async def list_actions(user_id: uuid.UUID) -> list[str]:
    """The user's event actions, oldest first (used by tests and the security-events feed)."""
    rows = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.user_id == user_id
    ).order_by(AuditEvent.created_at)
    return [r["action"] for r in rows]


async def is_new_device(user_id: uuid.UUID, user_agent: str | None, *, since: datetime) -> bool:
    """True when the user has signed in before, but not with this user agent since ``since``
    (the very first sign-in after registration is not "new")."""
    signed_in = (AuditEvent.user_id == user_id) & (
        AuditEvent.action == AuditAction.SIGNIN_SUCCEEDED.value)
    if not await AuditEvent.exists().where(signed_in):
        return False
    same = (AuditEvent.user_agent.is_null() if user_agent is None
            else AuditEvent.user_agent == user_agent)
    return not await AuditEvent.exists().where(signed_in & same & (AuditEvent.created_at >= since))



async def _keyset(where: Any, *, limit: int, before: tuple[datetime, uuid.UUID] | None,
                  extra: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows of events matching ``where``, newest first, strictly older than ``before``
    ((created_at, id) of the last event of the previous page), metadata decoded."""
    if before is not None:
        at, event_id = before
        where &= (AuditEvent.created_at < at) | (
            (AuditEvent.created_at == at) & (AuditEvent.id < event_id))
    rows = await AuditEvent.select(
        AuditEvent.id, AuditEvent.action, AuditEvent.ip_address, AuditEvent.user_agent,
        AuditEvent.metadata, AuditEvent.created_at, *extra,
    ).where(where).order_by(AuditEvent.created_at, AuditEvent.id, ascending=False).limit(limit)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows


async def page(user_id: uuid.UUID, *, limit: int,
               before: tuple[datetime, uuid.UUID] | None = None) -> list[AuditRecord]:
    """Up to ``limit`` events of the user, newest first, strictly older than ``before``
    ((created_at, id) of the last event of the previous page: keyset pagination). An event
    someone else caused (an admin, an organization's owner) shows no IP address or user
    agent: those are the other person's, kept for the audit trail, not shown to the user."""
    rows = await _keyset(AuditEvent.user_id == user_id, limit=limit, before=before,
                         extra=(AuditEvent.actor_id,))
    for row in rows:
        if row.pop("actor_id") not in (None, user_id):
            row["ip_address"] = row["user_agent"] = None
    return [AuditRecord(**row) for row in rows]


async def organization_page(organization_id: uuid.UUID, *, limit: int,
                            before: tuple[datetime, uuid.UUID] | None = None
                            ) -> list[AuditRecord]:
    """Up to ``limit`` events concerning the organization, newest first, strictly older than
    ``before`` (keyset, as :func:`page`); each carries ``user_id`` (the target) and
    ``actor_id`` (who acted)."""
    rows = await _keyset(AuditEvent.organization_id == organization_id, limit=limit,
                         before=before, extra=(AuditEvent.user_id, AuditEvent.actor_id))
    return [AuditRecord(**row) for row in rows]
