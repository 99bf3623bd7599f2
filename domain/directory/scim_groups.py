"""SCIM provisioning of an organization's teams (RFC 7643 §4.2 Group, RFC 7644 §3): the
directory creates, reads, lists, replaces, patches and deletes them. Framework-free: the HTTP
layer (api/scim/groups.py) maps SCIM resources to :class:`GroupState` and back.

A Group is a team of the token's organization; its members are people who are active members
of the organization (team role ``member``). Names are unique in the organization ignoring
case, externalIds exactly. No person acts: the SCIM token does (audit ``actor_id`` = its id).
Every change is one unit of work taken under the organization's lock, so two concurrent
changes run one after the other and a uniqueness check cannot race.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from db.engine import is_unique_violation
from db.repositories import organizations, scim_groups
from db.repositories.scim_groups import GroupMember, ScimTeam
from domain.directory.deprovisioning import audit_as
from domain.directory.provisioning import DirectoryConflict
from domain.errors import NotFound, ValidationFailed
from domain.names import AuditAction, TeamRole
from domain.organizations.organizations import parse_id
from domain.organizations.teams import check_name
from domain.records import ScimTokenRecord
from domain.services import RequestInfo, Services

NO_GROUP = "No such group."
MAX_EXTERNAL_ID = 255  # teams.scim_external_id
MAX_MEMBERS = 50_000  # per request; the 1 MB body limit stops far sooner in practice


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the directory wants a group to be. display_name: the team's name; members: the
    members' user ids as sent (None: leave the members as they are)."""

    display_name: str
    external_id: str | None = None
    members: Sequence[str] | None = None


def _checked(state: GroupState) -> tuple[str, str | None, list[uuid.UUID] | None]:
    """(name, externalId, distinct member ids in the order sent). raises ValidationFailed
    (400 invalidValue) naming the SCIM attribute (and the member id that is not one)."""
    try:
        name = check_name(state.display_name or "")
    except ValidationFailed:
        raise ValidationFailed([("displayName", "must be 1 to 200 characters, not blank")]
                               ) from None
    external_id = state.external_id or None
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        raise ValidationFailed([("externalId", f"must be at most {MAX_EXTERNAL_ID} characters")])
    if state.members is None:
        return name, external_id, None
    if len(state.members) > MAX_MEMBERS:
        raise ValidationFailed([("members", f"at most {MAX_MEMBERS} in one request")])
    ids: dict[uuid.UUID, None] = {}
    for text in state.members:
        try:
            ids[uuid.UUID(str(text))] = None
        except ValueError:
            raise ValidationFailed([("members", f"{text} is not a user of this organization")]
                                   ) from None
    return name, external_id, list(ids)


async def _refuse_taken(organization_id: uuid.UUID, name: str, external_id: str | None,
                        team_id: uuid.UUID | None) -> None:
    """raises DirectoryConflict (409 uniqueness) when another team has the name or
    externalId."""
    if await scim_groups.holder_of(organization_id, name=name) not in (None, team_id):
        raise DirectoryConflict("displayName is already used by another group of this "
                                "organization.")
    if external_id is not None and await scim_groups.holder_of(
            organization_id, external_id=external_id) not in (None, team_id):
        raise DirectoryConflict("externalId is already used by another group of this "
                                "organization.")


async def _refuse_outsiders(organization_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    """raises ValidationFailed naming the first id that is not an active member of the
    organization (another organization's user, a suspended member, nobody)."""
    found = await scim_groups.active_members(organization_id, ids)
    missing = next((i for i in ids if i not in found), None)
    if missing is not None:
        raise ValidationFailed([("members", f"{missing} is not an active member of this "
                                            "organization")])


async def create_group(svc: Services, token: ScimTokenRecord, state: GroupState,
                       info: RequestInfo) -> ScimTeam:
    """SCIM ``POST /Groups`` (RFC 7644 §3.3): an active team with the members given (team
    role ``member``). Audited SCIM_GROUP_CREATED (teamId, name, members: how many).
    raises ValidationFailed (400), DirectoryConflict (409 uniqueness), Overloaded."""
    name, external_id, ids = _checked(state)
    organization_id = token.organization_id
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            await _refuse_taken(organization_id, name, external_id, None)
            await _refuse_outsiders(organization_id, ids or [])
            team = await scim_groups.insert(organization_id=organization_id, name=name,
                                            external_id=external_id, now=uow.now)
            await scim_groups.add_members(team.id, ids or [], role=TeamRole.MEMBER.value,
                                          now=uow.now)
            uow.audit(AuditAction.SCIM_GROUP_CREATED, None, **audit_as(token),
                      teamId=str(team.id), name=name, members=len(ids or []))
    except Exception as exc:
        if is_unique_violation(exc):
            raise DirectoryConflict("displayName or externalId is already used.") from exc
        raise
    return team


async def get_group(token: ScimTokenRecord, team_text: str) -> ScimTeam:
    """The organization's team ``team_text`` (a team id). raises NotFound (404: unknown,
    malformed, or another organization's)."""
    team = await scim_groups.get(token.organization_id, parse_id(team_text, NO_GROUP))
    if team is None:
        raise NotFound(NO_GROUP)
    return team


async def members_of(teams: Sequence[ScimTeam]) -> dict[uuid.UUID, list[GroupMember]]:
    """Each team's members (user id and name), in the order they joined."""
    return await scim_groups.members_of([team.id for team in teams])


async def list_groups(token: ScimTokenRecord, condition: tuple[str, Sequence[Any]] | None, *,
                      start_index: int, count: int) -> tuple[list[ScimTeam], int]:
    """(one page of the organization's teams, how many match): RFC 7644 §3.4.2.4 paging,
    ``start_index`` 1-based, ``count`` 0..200, oldest first. condition: the filter as SQL
    (api/scim/filters.py) over ``t``, or None for all."""
    return await scim_groups.page(token.organization_id, condition, offset=start_index - 1,
                                  limit=count)


Change = Callable[[ScimTeam, list[GroupMember]], GroupState]
"""Given the team and its members as they are (locked), what the directory wants: the HTTP
layer checks ``If-Match`` and applies a PUT or PATCH here, so both see the committed state."""


async def update_group(svc: Services, token: ScimTokenRecord, team_text: str, change: Change,
                       info: RequestInfo) -> ScimTeam:
    """SCIM ``PUT``/``PATCH /Groups/{id}`` (RFC 7644 §3.5): name, externalId and members as
    ``change`` says; members join and leave in set operations (the difference of the two
    sets). Audited SCIM_GROUP_UPDATED (fields, added, removed: counts) when something changed.
    raises NotFound, ValidationFailed (400), DirectoryConflict (409), whatever ``change``
    raises (412 PreconditionFailed)."""
    organization_id = token.organization_id
    team_id = parse_id(team_text, NO_GROUP)
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            team = await scim_groups.get(organization_id, team_id, for_update=True)
            if team is None:
                raise NotFound(NO_GROUP)
            current = (await scim_groups.members_of([team.id]))[team.id]
            name, external_id, ids = _checked(change(team, current))
            await _refuse_taken(organization_id, name, external_id, team.id)
            fields = [f for f, new, old in (("displayName", name, team.name),
                                            ("externalId", external_id, team.scim_external_id))
                      if new != old]
            before = {m.user_id for m in current}
            added = [i for i in ids if i not in before] if ids is not None else []
            removed = before - set(ids) if ids is not None else set()
            await _refuse_outsiders(organization_id, added)
            if fields or added or removed:
                await scim_groups.set_fields(team.id, name=name, external_id=external_id,
                                             now=uow.now)
                await scim_groups.remove_members(team.id, removed)
                await scim_groups.add_members(team.id, added, role=TeamRole.MEMBER.value,
                                              now=uow.now)
                uow.audit(AuditAction.SCIM_GROUP_UPDATED, None, **audit_as(token),
                          teamId=str(team.id), fields=fields, added=len(added),
                          removed=len(removed))
    except Exception as exc:
        if is_unique_violation(exc):
            raise DirectoryConflict("displayName or externalId is already used.") from exc
        raise
    return await get_group(token, str(team_id))


async def delete_group(svc: Services, token: ScimTokenRecord, team_text: str,
                       info: RequestInfo) -> None:
    """SCIM ``DELETE /Groups/{id}`` (RFC 7644 §3.6): the team and its memberships go (the
    people stay members of the organization). Audited SCIM_GROUP_DELETED (teamId, name).
    raises NotFound."""
    organization_id = token.organization_id
    team_id = parse_id(team_text, NO_GROUP)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        team = await scim_groups.get(organization_id, team_id, for_update=True)
        if team is None:
            raise NotFound(NO_GROUP)
        await scim_groups.delete(team.id)
        uow.audit(AuditAction.SCIM_GROUP_DELETED, None, **audit_as(token),
                  teamId=str(team.id), name=team.name)
