"""Teams of an organization and their members — /v1/organizations/{id}/teams (API.md
"Organizations and context"; OnCall). Who may do what is decided in
domain.organizations.access; an organization or team one cannot see answers 404."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from api.deps import SIGNED_IN, provide_services, request_info
from api.openapi import BEARER, problems
from api.team_schemas import (
    Team,
    TeamList,
    TeamMember,
    TeamMemberList,
    TeamMemberRequest,
    TeamMemberUpdate,
    TeamRequest,
    TeamUpdate,
)
from domain.organizations import team_members, teams
from domain.services import Services
from domain.tokens import AccessClaims

ONE = "/{team_id:str}"
MEMBERS = ONE + "/members"
MEMBER = MEMBERS + "/{user_id:str}"


class TeamController(Controller):
    path = "/v1/organizations/{organization_id:str}/teams"
    tags = ["teams"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/", security=BEARER, responses=problems(400, 401, 403, 404))
    async def create(self, request: Request, organization_id: str, data: TeamRequest,
                     svc: Services, claims: AccessClaims) -> Team:
        """Owner or admin: create an active team."""
        return Team.of(await teams.create_team(
            svc, claims.user_id, organization_id, name=data.name,
            description=data.description, info=request_info(request)))

    @get("/", security=BEARER, responses=problems(400, 401, 403, 404))
    async def list_teams(self, claims: AccessClaims, organization_id: str,
                         include_inactive: bool = Parameter(query="includeInactive",
                                                            default=False)) -> TeamList:
        """Members: the organization's active teams by name; `includeInactive=true` (owner
        or admin) adds the deactivated ones."""
        found = await teams.list_teams(claims.user_id, organization_id,
                                       include_inactive=include_inactive)
        return TeamList(items=[Team.of(t) for t in found])

    @get(ONE, security=BEARER, responses=problems(401, 403, 404))
    async def one(self, claims: AccessClaims, organization_id: str, team_id: str) -> Team:
        """Members: one team (a deactivated one only for owners and admins)."""
        return Team.of(await teams.view_team(claims.user_id, organization_id, team_id))

    @patch(ONE, security=BEARER, responses=problems(400, 401, 403, 404))
    async def update(self, request: Request, organization_id: str, team_id: str,
                     data: TeamUpdate, svc: Services, claims: AccessClaims) -> Team:
        """Owner or admin: change `name` or `description` (`null` removes it); `isActive:
        false` deactivates the team (it leaves its members' profiles), `true` restores it."""
        return Team.of(await teams.update_team(svc, claims.user_id, organization_id, team_id,
                                               data.changes(), request_info(request)))

    @get(MEMBERS, security=BEARER, responses=problems(401, 403, 404))
    async def members(self, claims: AccessClaims, organization_id: str,
                      team_id: str) -> TeamMemberList:
        """Members: everyone in the team with their team role, in the order they joined."""
        found = await team_members.list_team_members(claims.user_id, organization_id, team_id)
        return TeamMemberList(items=[TeamMember.of(m) for m in found])

    @post(MEMBERS, security=BEARER, responses=problems(400, 401, 403, 404, 409))
    async def add_member(self, request: Request, organization_id: str, team_id: str,
                         data: TeamMemberRequest, svc: Services,
                         claims: AccessClaims) -> TeamMember:
        """Owner or admin: put an active member of the organization in the team as `lead`
        or `member`. 409 `not_an_active_member`, `already_in_team`."""
        return TeamMember.of(await team_members.add_team_member(
            svc, claims.user_id, organization_id, team_id, user_id=data.user_id,
            role=data.role, info=request_info(request)))

    @patch(MEMBER, security=BEARER, responses=problems(400, 401, 403, 404))
    async def change_member(self, request: Request, organization_id: str, team_id: str,
                            user_id: str, data: TeamMemberUpdate, svc: Services,
                            claims: AccessClaims) -> TeamMember:
        """Owner or admin: change someone's team role."""
        return TeamMember.of(await team_members.change_team_member(
            svc, claims.user_id, organization_id, team_id, user_id, role=data.role,
            info=request_info(request)))

    @delete(MEMBER, status_code=204, security=BEARER, responses=problems(401, 403, 404))
    async def remove_member(self, request: Request, organization_id: str, team_id: str,
                            user_id: str, svc: Services, claims: AccessClaims) -> None:
        """Owner or admin: take someone out of the team; or your own id: leave it."""
        await team_members.remove_team_member(svc, claims.user_id, organization_id, team_id,
                                              user_id, request_info(request))


CONTROLLERS: list[type[Controller]] = [TeamController]
