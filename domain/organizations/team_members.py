"""A team's members and their team roles (``lead``, ``member``; API.md
``/v1/organizations/{id}/teams/{teamId}/members``).

Rules (issue 13): owners and admins add people, change their team role and take them out;
anyone may leave a team (their own id). Only active members of the organization may join
(409 ``not_an_active_member``); someone in the team already is a 409 ``already_in_team``.
Additions take the organization's row lock first (organizations.lock), as removal and
suspension of members do, so nobody joins a team while leaving the organization. Suspension
or removal from the organization takes the person out of its teams (domain.organizations.
members). Audited with the caller as ``actor_id``, the person as ``user_id``.
"""

from __future__ import annotations

import uuid

from db.repositories import memberships, organizations, teams
from domain.errors import AlreadyInTeam, NotActiveMember, NotFound
from domain.names import AuditAction, MembershipStatus
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.organizations.teams import visible_team
from domain.records import TeamMemberRecord
from domain.services import RequestInfo, Services

NOT_IN_TEAM = "No such team member."


async def list_team_members(actor_id: uuid.UUID, organization_text: str,
                            team_text: str) -> list[TeamMemberRecord]:
    """Everyone in the team in the order they joined, for the organization's active members
    (an inactive team: owners and admins only). raises NotFound, AuthorizationDenied."""
    organization_id = parse_id(organization_text)
    membership = await access.require_member(organization_id, actor_id)
    team = await visible_team(organization_id, team_text, membership)
    return await teams.members(team.id)


async def _found(team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMemberRecord:
    found = await teams.member(team_id, user_id)
    if found is None:  # gone meanwhile
        raise NotFound(NOT_IN_TEAM)
    return found


async def add_team_member(svc: Services, actor_id: uuid.UUID, organization_text: str,
                          team_text: str, *, user_id: uuid.UUID, role: str,
                          info: RequestInfo) -> TeamMemberRecord:
    """Put an active member of the organization in the team with ``role`` (TeamRole); owner
    or admin. Audited ``organization.team.member_added`` (teamId, role). raises NotFound
    (organization, team), AuthorizationDenied, Forbidden, NotActiveMember (409: not a
    member, or suspended), AlreadyInTeam (409)."""
    organization_id = parse_id(organization_text)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        actor = await access.require_manager(organization_id, actor_id)
        team = await visible_team(organization_id, team_text, actor)
        joining = await memberships.get(organization_id, user_id)
        if joining is None or joining.status != MembershipStatus.ACTIVE:
            raise NotActiveMember()
        if await teams.member(team.id, user_id) is not None:
            raise AlreadyInTeam()
        await teams.add_member(team_id=team.id, user_id=user_id, role=role, now=uow.now)
        uow.audit(AuditAction.TEAM_MEMBER_ADDED, user_id, actor_id=actor_id,
                  organization_id=organization_id, teamId=str(team.id), role=role)
    return await _found(team.id, user_id)


async def change_team_member(svc: Services, actor_id: uuid.UUID, organization_text: str,
                             team_text: str, user_text: str, *, role: str,
                             info: RequestInfo) -> TeamMemberRecord:
    """Set a team member's role (TeamRole); owner or admin. Audited
    ``organization.team.member_role_changed`` (teamId, role, previous) when it changes.
    raises NotFound (organization, team, not in the team), AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    user_id = parse_id(user_text, NOT_IN_TEAM)
    async with svc.unit_of_work(info) as uow:
        actor = await access.require_manager(organization_id, actor_id)
        team = await visible_team(organization_id, team_text, actor)
        target = await _found(team.id, user_id)
        if target.role != role:
            await teams.set_member_role(team.id, user_id, role)
            uow.audit(AuditAction.TEAM_MEMBER_ROLE_CHANGED, user_id, actor_id=actor_id,
                      organization_id=organization_id, teamId=str(team.id), role=role,
                      previous=target.role)
    return await _found(team.id, user_id)


async def remove_team_member(svc: Services, actor_id: uuid.UUID, organization_text: str,
                             team_text: str, user_text: str, info: RequestInfo) -> None:
    """Take someone out of the team (owner or admin), or leave it (your own id). Audited
    ``organization.team.member_removed`` (teamId, role, reason ``left`` or ``removed``).
    raises NotFound (organization, team, not in the team), AuthorizationDenied,
    Forbidden."""
    organization_id = parse_id(organization_text)
    user_id = parse_id(user_text, NOT_IN_TEAM)
    async with svc.unit_of_work(info) as uow:
        actor = await access.require_member(organization_id, actor_id)
        leaving = user_id == actor_id
        if not leaving:
            await access.require_manager(organization_id, actor_id)
        team = await visible_team(organization_id, team_text, actor)
        target = await _found(team.id, user_id)
        if not await teams.remove_member(team.id, user_id):
            raise NotFound(NOT_IN_TEAM)
        uow.audit(AuditAction.TEAM_MEMBER_REMOVED, user_id, actor_id=actor_id,
                  organization_id=organization_id, teamId=str(team.id), role=target.role,
                  reason="left" if leaving else "removed")
