"""An organization's audit trail (GET /v1/organizations/{id}/events), for its owners and
admins: every event recorded with its ``organization_id`` (created, updated, members added,
changed, removed, invitations, teams), newest first, each naming the actor and the target."""

from __future__ import annotations

import uuid

from db.repositories import audit as audit_events
from domain import audit
from domain.errors import ValidationFailed
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import AuditRecord


async def organization_events(actor_id: uuid.UUID, organization_text: str, *, limit: int,
                              cursor: str | None) -> tuple[list[AuditRecord], str | None]:
    """(events newest first, next cursor or None); the cursor is the one of
    /v1/auth/security-events (domain.audit). limit: 1..100. raises NotFound,
    AuthorizationDenied (suspended), Forbidden (a member), ValidationFailed (limit,
    cursor)."""
    organization_id = parse_id(organization_text)
    if not 1 <= limit <= audit.MAX_PAGE:
        raise ValidationFailed([("limit", f"must be between 1 and {audit.MAX_PAGE}")])
    before = audit.decode_cursor(cursor) if cursor else None
    await access.require_manager(organization_id, actor_id)
    events = await audit_events.organization_page(organization_id, limit=limit + 1,
                                                  before=before)
    more = len(events) > limit
    events = events[:limit]
    return events, (audit.encode_cursor(events[-1]) if more else None)
