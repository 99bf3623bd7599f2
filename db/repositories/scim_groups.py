"""SCIM groups: an organization's teams with the id its directory gave them
(``teams.scim_external_id``) and their members. Every query is scoped to one organization, so
another organization's team is never found. Member changes are set operations (one statement
per chunk of ids, never one per member): directories send groups of thousands."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.engine import is_sqlite
from db.tables import Team, TeamMembership

# the SQL the filter attribute map (api/scim/group_resource.py) is written against
FROM = "FROM teams t WHERE t.organization_id = {}"
_COLUMNS = ("t.id, t.organization_id, t.name, t.scim_external_id, t.created_at, "
            "t.updated_at")
ORDER = " ORDER BY t.created_at, t.id"
CHUNK = 500  # ids per statement: far below SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True, slots=True)
class ScimTeam:
    """A team as a SCIM Group, without its members (:func:`members_of` reads those)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    scim_external_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A person in a team: their user id and account name (None: they set none)."""

    user_id: uuid.UUID
    name: str | None


def _chunks(ids: Iterable[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    items = list(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _marks(count: int) -> str:
    return ", ".join("{}" for _ in range(count))


async def get(organization_id: uuid.UUID, team_id: uuid.UUID, *,
              for_update: bool = False) -> ScimTeam | None:
    """The organization's team ``team_id`` (active or not), or None. for_update: lock the
    row on PostgreSQL (SQLite: BEGIN IMMEDIATE serializes writers)."""
    lock = " FOR UPDATE" if for_update and not is_sqlite() else ""
    rows = await Team.raw(f"SELECT {_COLUMNS} {FROM} AND t.id = {{}}{lock}",
                          organization_id, team_id)
    return ScimTeam(**rows[0]) if rows else None


async def page(organization_id: uuid.UUID, condition: tuple[str, Sequence[Any]] | None, *,
               offset: int, limit: int) -> tuple[list[ScimTeam], int]:
    """(up to ``limit`` teams after skipping ``offset``, how many match in all), oldest
    first. condition: an SQL condition over ``t`` (teams) with ``{}`` placeholders and its
    parameters (api/scim/filters.py), or None. limit 0 counts only."""
    where, params = ("", []) if condition is None else (f" AND ({condition[0]})",
                                                        list(condition[1]))
    rows = await Team.raw(f"SELECT count(*) AS total {FROM}{where}", organization_id, *params)
    total = int(rows[0]["total"])
    if limit == 0 or offset >= total:
        return [], total
    rows = await Team.raw(f"SELECT {_COLUMNS} {FROM}{where}{ORDER} LIMIT {{}} OFFSET {{}}",
                          organization_id, *params, limit, offset)
    return [ScimTeam(**row) for row in rows], total


async def members_of(team_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[GroupMember]]:
    """Each team's members in the order they joined; one query per chunk of teams."""
    found: dict[uuid.UUID, list[GroupMember]] = {team_id: [] for team_id in team_ids}
    for chunk in _chunks(team_ids):
        rows = await TeamMembership.raw(
            "SELECT tm.team_id, tm.user_id, u.name FROM team_memberships tm "
            f"JOIN users u ON u.id = tm.user_id WHERE tm.team_id IN ({_marks(len(chunk))}) "
            "ORDER BY tm.created_at, tm.user_id", *chunk)
        for row in rows:
            found[row["team_id"]].append(GroupMember(row["user_id"], row["name"]))
    return found


async def holder_of(organization_id: uuid.UUID, *, name: str | None = None,
                    external_id: str | None = None) -> uuid.UUID | None:
    """The team whose name (case-insensitive: RFC 7643 §4.2 ``displayName`` is not
    caseExact) or externalId (exact) this is, or None."""
    if name is not None:
        rows = await Team.raw(f"SELECT t.id {FROM} AND lower(t.name) = lower({{}}) LIMIT 1",
                              organization_id, name)
    else:
        rows = await Team.raw(f"SELECT t.id {FROM} AND t.scim_external_id = {{}} LIMIT 1",
                              organization_id, external_id)
    return rows[0]["id"] if rows else None


async def insert(*, organization_id: uuid.UUID, name: str, external_id: str | None,
                 now: datetime) -> ScimTeam:
    """Insert an active team the directory created. Call inside a transaction."""
    team = ScimTeam(uuid.uuid4(), organization_id, name, external_id, now, now)
    await Team.insert(Team(id=team.id, organization_id=organization_id, name=name,
                           description=None, is_active=True, scim_external_id=external_id,
                           created_at=now, updated_at=now))
    return team


async def set_fields(team_id: uuid.UUID, *, name: str, external_id: str | None,
                     now: datetime) -> None:
    """Set the team's name and externalId, and its ``updated_at`` (SCIM lastModified; a
    change of members only touches that). Call inside a transaction."""
    await Team.update({Team.name: name, Team.scim_external_id: external_id,
                       Team.updated_at: now}).where(Team.id == team_id)


async def active_members(organization_id: uuid.UUID,
                         user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``user_ids`` who are active members of the organization (live accounts)."""
    found: set[uuid.UUID] = set()
    for chunk in _chunks(user_ids):
        rows = await TeamMembership.raw(
            "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.organization_id = {} AND m.status = 'active' AND u.deleted_at IS NULL "
            f"AND m.user_id IN ({_marks(len(chunk))})", organization_id, *chunk)
        found.update(row["user_id"] for row in rows)
    return found


async def add_members(team_id: uuid.UUID, user_ids: Iterable[uuid.UUID], *, role: str,
                      now: datetime) -> None:
    """Put people who are not in the team yet in it with ``role`` (TeamRole); one insert
    per chunk. Call inside a transaction."""
    for chunk in _chunks(user_ids):
        await TeamMembership.insert(*(
            TeamMembership(id=uuid.uuid4(), team_id=team_id, user_id=user_id, role=role,
                           created_at=now) for user_id in chunk))


async def remove_members(team_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> None:
    """Take people out of the team; one delete per chunk. Call inside a transaction."""
    for chunk in _chunks(user_ids):
        await TeamMembership.delete().where(
            (TeamMembership.team_id == team_id) & TeamMembership.user_id.is_in(chunk))


async def delete(team_id: uuid.UUID) -> None:
    """Delete the team and its memberships (explicitly: SQLite may run without foreign
    keys' cascades). Call inside a transaction."""
    await TeamMembership.delete().where(TeamMembership.team_id == team_id)
    await Team.delete().where(Team.id == team_id)
