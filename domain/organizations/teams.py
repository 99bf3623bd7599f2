"""Teams of an organization (OnCall; API.md ``/v1/organizations/{id}/teams``): create, list,
read, update and deactivate them.

Rules (issue 13): owners and admins create, change and deactivate teams; every active member
of the organization sees its active teams; inactive ones only owners and admins (404 to
anyone else). A deactivated team keeps its members but drops out of their profiles until it
is active again. A team id of another organization, unknown or malformed, is a 404. Every
change is audited with the caller as ``actor_id`` and the organization's id (its events
feed); who may do what is asked of domain.organizations.access.
"""

from __future__ import annotations

import uuid
from typing import Any

from db.repositories import organizations, teams
from domain.errors import NotFound, ValidationFailed
from domain.names import MANAGERS, AuditAction
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import MembershipRecord, TeamRecord
from domain.services import RequestInfo, Services

NO_TEAM = "No such team."
MAX_NAME = 200
MAX_DESCRIPTION = 1000


def is_manager(membership: MembershipRecord) -> bool:
    """True for an owner's or admin's membership."""
    return membership.role in {r.value for r in MANAGERS}


def check_name(name: str) -> str:
    """The name trimmed: 1..200 characters. raises ValidationFailed (``name``)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValidationFailed([("name", f"must be 1 to {MAX_NAME} characters, not blank")])
    return name


def check_description(description: str | None) -> str | None:
    """The description trimmed (blank or None: none), at most 1000 characters.
    raises ValidationFailed (``description``)."""
    description = (description or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ValidationFailed([("description", f"must be at most {MAX_DESCRIPTION} characters")])
    return description


async def visible_team(organization_id: uuid.UUID, team_text: str,
                       membership: MembershipRecord) -> TeamRecord:
    """The organization's team as ``membership`` may see it: an inactive one only for an
    owner or admin. raises NotFound (unknown, another organization's, malformed, hidden)."""
    team = await teams.get(organization_id, parse_id(team_text, NO_TEAM))
    if team is None or not (team.is_active or is_manager(membership)):
        raise NotFound(NO_TEAM)
    return team


async def create_team(svc: Services, actor_id: uuid.UUID, organization_text: str, *,
                      name: str, description: str | None, info: RequestInfo) -> TeamRecord:
    """A new active team; owner or admin. Audited ``organization.team.created``.
    raises NotFound, AuthorizationDenied (suspended), Forbidden (a member),
    ValidationFailed (name, description)."""
    organization_id = parse_id(organization_text)
    name, description = check_name(name), check_description(description)
    async with svc.unit_of_work(info) as uow:
        # the organization's lock first (as member changes take it): a deletion running
        # meanwhile makes this wait and then find no membership (404), not a foreign-key 500
        await organizations.lock(organization_id)
        await access.require_manager(organization_id, actor_id)
        team = await teams.insert(organization_id=organization_id, name=name,
                                  description=description, now=uow.now)
        uow.audit(AuditAction.TEAM_CREATED, None, actor_id=actor_id,
                  organization_id=organization_id, teamId=str(team.id), name=name)
    return team


async def list_teams(actor_id: uuid.UUID, organization_text: str, *,
                     include_inactive: bool = False) -> list[TeamRecord]:
    """The organization's teams by name, for its active members; ``include_inactive`` (owner
    or admin only) adds the deactivated ones. raises NotFound, AuthorizationDenied,
    Forbidden (``include_inactive`` asked by a member)."""
    organization_id = parse_id(organization_text)
    if include_inactive:
        await access.require_manager(organization_id, actor_id)
    else:
        await access.require_member(organization_id, actor_id)
    return await teams.of_organization(organization_id, include_inactive=include_inactive)


async def view_team(actor_id: uuid.UUID, organization_text: str,
                    team_text: str) -> TeamRecord:
    """One team, for active members (an inactive one: owners and admins only).
    raises NotFound, AuthorizationDenied."""
    organization_id = parse_id(organization_text)
    membership = await access.require_member(organization_id, actor_id)
    return await visible_team(organization_id, team_text, membership)


def _changes(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` (any of name, description, is_active) checked. raises ValidationFailed."""
    changes: dict[str, Any] = {}
    if "name" in fields:
        if fields["name"] is None:
            raise ValidationFailed([("name", "cannot be removed")])
        changes["name"] = check_name(fields["name"])
    if "description" in fields:
        changes["description"] = check_description(fields["description"])
    if "is_active" in fields:
        if fields["is_active"] is None:
            raise ValidationFailed([("isActive", "must be true or false")])
        changes["is_active"] = bool(fields["is_active"])
    return changes


async def update_team(svc: Services, actor_id: uuid.UUID, organization_text: str,
                      team_text: str, fields: dict[str, Any], info: RequestInfo) -> TeamRecord:
    """Change a team's ``name``, ``description`` (None removes it) or ``is_active`` (False
    deactivates: it drops out of its members' profiles; True brings it back); owner or
    admin. Audited ``organization.team.deactivated`` when deactivated, else
    ``organization.team.updated`` with the fields changed; nothing when nothing changes.
    raises NotFound, AuthorizationDenied, Forbidden, ValidationFailed."""
    organization_id = parse_id(organization_text)
    changes = _changes(fields)
    async with svc.unit_of_work(info) as uow:
        actor = await access.require_manager(organization_id, actor_id)
        team = await visible_team(organization_id, team_text, actor)
        changed = {k: v for k, v in changes.items() if getattr(team, k) != v}
        if changed:
            await teams.update(team.id, now=uow.now, **changed)
            action = AuditAction.TEAM_DEACTIVATED if changed.get("is_active") is False \
                else AuditAction.TEAM_UPDATED
            uow.audit(action, None, actor_id=actor_id, organization_id=organization_id,
                      teamId=str(team.id), fields=sorted(changed))
    found = await teams.get(organization_id, team.id)
    if found is None:  # the organization was deleted meanwhile
        raise NotFound(NO_TEAM)
    return found
