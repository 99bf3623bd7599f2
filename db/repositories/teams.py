"""Teams: groups of an organization's members with a team role (OnCall; API.md
``/v1/organizations/{id}/teams``). Every lookup is scoped to its organization, so a team id of
another organization is never found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from piccolo.query import OrderByRaw

from db.tables import Team, TeamMembership
from domain.records import TeamMemberRecord, TeamRecord, UserTeamRecord

FIELDS = (Team.id, Team.organization_id, Team.name, Team.description, Team.is_active,
          Team.created_at, Team.updated_at)
# a person's active teams in organizations where their membership is active, by team name
_OF_USERS = ("SELECT tm.user_id, t.id, t.name, t.description, t.organization_id, tm.role "
             "FROM team_memberships tm JOIN teams t ON t.id = tm.team_id "
             "JOIN memberships m ON m.organization_id = t.organization_id "
             "AND m.user_id = tm.user_id "
             "WHERE tm.user_id IN ({ids}) AND t.is_active = TRUE AND m.status = 'active' "
             "ORDER BY lower(t.name), t.id")


def _team(row: dict[str, Any]) -> TeamRecord:
    return TeamRecord(**{**row, "is_active": bool(row["is_active"])})


async def insert(*, organization_id: uuid.UUID, name: str, description: str | None,
                 now: datetime) -> TeamRecord:
    """Insert an active team; returns it. name, description: already checked."""
    team_id = uuid.uuid4()
    await Team.insert(Team(id=team_id, organization_id=organization_id, name=name,
                           description=description, is_active=True, created_at=now,
                           updated_at=now))
    return TeamRecord(id=team_id, organization_id=organization_id, name=name,
                      description=description, is_active=True, created_at=now, updated_at=now)


async def get(organization_id: uuid.UUID, team_id: uuid.UUID) -> TeamRecord | None:
    """The organization's team (active or not), or None (unknown, or another organization's)."""
    row = await Team.select(*FIELDS).where(
        (Team.id == team_id) & (Team.organization_id == organization_id)).first()
    return _team(row) if row else None


async def of_organization(organization_id: uuid.UUID, *,
                          include_inactive: bool = False) -> list[TeamRecord]:
    """The organization's teams by name (case-insensitive); active ones only unless
    ``include_inactive``."""
    where: Any = Team.organization_id == organization_id
    if not include_inactive:
        where &= Team.is_active.eq(True)
    rows = await Team.select(*FIELDS).where(where).order_by(OrderByRaw("lower(name)"), Team.id)
    return [_team(row) for row in rows]


async def update(team_id: uuid.UUID, *, now: datetime, **fields: Any) -> None:
    """Set any of ``name``, ``description`` (None removes it), ``is_active``. Call inside a
    transaction."""
    values: dict[Any, Any] = {Team.updated_at: now}
    for name, value in fields.items():
        values[Team._meta.get_column_by_name(name)] = value
    await Team.update(values).where(Team.id == team_id)


def _member_query() -> Any:
    return TeamMembership.select(
        TeamMembership.team_id, TeamMembership.user_id, TeamMembership.role,
        TeamMembership.created_at, TeamMembership.user_id.email.as_alias("email"),
        TeamMembership.user_id.name.as_alias("name"))


async def members(team_id: uuid.UUID) -> list[TeamMemberRecord]:
    """Everyone in the team, in the order they joined."""
    rows = await _member_query().where(TeamMembership.team_id == team_id).order_by(
        TeamMembership.created_at, TeamMembership.id)
    return [TeamMemberRecord(**row) for row in rows]


async def member(team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMemberRecord | None:
    """The person's place in the team, or None."""
    row = await _member_query().where((TeamMembership.team_id == team_id)
                                      & (TeamMembership.user_id == user_id)).first()
    return TeamMemberRecord(**row) if row else None


async def add_member(*, team_id: uuid.UUID, user_id: uuid.UUID, role: str,
                     now: datetime) -> None:
    """Put the person in the team with ``role`` (TeamRole). Call inside a transaction.
    raises the driver's integrity error when they are in it already (unique index on
    (team_id, user_id)); check with :func:`member` first."""
    await TeamMembership.insert(TeamMembership(id=uuid.uuid4(), team_id=team_id,
                                               user_id=user_id, role=role, created_at=now))


async def set_member_role(team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Change the person's team role (TeamRole). Call inside a transaction."""
    await TeamMembership.update({TeamMembership.role: role}).where(
        (TeamMembership.team_id == team_id) & (TeamMembership.user_id == user_id))


async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Take the person out of the team; False when they were not in it."""
    rows = await TeamMembership.delete().where(
        (TeamMembership.team_id == team_id) & (TeamMembership.user_id == user_id)
    ).returning(TeamMembership.id)
    return bool(rows)


async def of_users(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[UserTeamRecord]]:
    """Each person's active teams in organizations where their membership is active (API.md
    Profile ``teams``), by team name; one query for all of them, none for an empty list."""
    found: dict[uuid.UUID, list[UserTeamRecord]] = {}
    if not user_ids:
        return found
    ids = ", ".join("{}" for _ in user_ids)
    for row in await Team.raw(_OF_USERS.format(ids=ids), *user_ids):
        found.setdefault(row.pop("user_id"), []).append(UserTeamRecord(**row))
    return found
