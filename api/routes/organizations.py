"""Organizations, their members and their audit trail — /v1/organizations (API.md
"Organizations and context"). Who may do what is decided in domain.organizations.access;
an organization one cannot see answers 404, malformed ids included."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from api.deps import SIGNED_IN, provide_services, request_info
from api.openapi import BEARER, problems
from api.organization_schemas import (
    Member,
    MemberPage,
    MemberUpdate,
    MyOrganization,
    Organization,
    OrganizationEvent,
    OrganizationEventPage,
    OrganizationList,
    OrganizationRequest,
    OrganizationUpdate,
)
from domain.organizations import events, members, organizations
from domain.services import Services
from domain.tokens import AccessClaims

ONE = "/{organization_id:str}"
MEMBER = ONE + "/members/{user_id:str}"


class OrganizationController(Controller):
    path = "/v1/organizations"
    tags = ["organizations"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/", security=BEARER, responses=problems(400, 401, 403))
    async def create(self, request: Request, data: OrganizationRequest, svc: Services,
                     claims: AccessClaims) -> Organization:
        """Create an organization; you become its `owner`. Needs a verified email (403
        `email_not_verified`). `contactEmail` defaults to yours, `timezone` (IANA) to UTC."""
        return Organization.of(await organizations.create(
            svc, claims.user_id, data.fields(), request_info(request)))

    @get("/", security=BEARER, responses=problems(401))
    async def mine(self, claims: AccessClaims) -> OrganizationList:
        """The organizations you belong to, with your `role` and `status`."""
        found = await organizations.list_mine(claims.user_id)
        return OrganizationList(items=[MyOrganization.of(o, m) for o, m in found])

    @get(ONE, security=BEARER, responses=problems(401, 403, 404))
    async def one(self, claims: AccessClaims, organization_id: str) -> Organization:
        """An organization you are an active member of (404 otherwise; 403 when suspended)."""
        return Organization.of(await organizations.view(claims.user_id, organization_id))

    @patch(ONE, security=BEARER, responses=problems(400, 401, 403, 404))
    async def update(self, request: Request, organization_id: str, data: OrganizationUpdate,
                     svc: Services, claims: AccessClaims) -> Organization:
        """Owner or admin: change the fields sent; `null` removes `legalBusinessName` or
        `dbaName`."""
        return Organization.of(await organizations.update(
            svc, claims.user_id, organization_id, data.changes(), request_info(request)))

    @delete(ONE, status_code=204, security=BEARER, responses=problems(401, 403, 404))
    async def remove(self, request: Request, organization_id: str, svc: Services,
                     claims: AccessClaims) -> None:
        """Owner: delete the organization with its memberships, invitations and teams; every
        member's active context on it ends."""
        await organizations.delete(svc, claims.user_id, organization_id, request_info(request))

    @get(ONE + "/members", security=BEARER, responses=problems(400, 401, 403, 404))
    async def list_members(self, claims: AccessClaims, organization_id: str,
                      cursor: str | None = None,
                      limit: int = Parameter(default=50, ge=1, le=100)) -> MemberPage:
        """Members: everyone in the organization in the order they joined; pass
        `nextCursor` as `cursor`."""
        found, next_cursor = await members.list_members(claims.user_id, organization_id,
                                                        limit=limit, cursor=cursor)
        return MemberPage(items=[Member.of(m) for m in found], next_cursor=next_cursor)

    @patch(MEMBER, security=BEARER, responses=problems(400, 401, 403, 404, 409))
    async def change_member(self, request: Request, organization_id: str, user_id: str,
                            data: MemberUpdate, svc: Services, claims: AccessClaims) -> Member:
        """Owner or admin: change a member's `role` or `status` (`suspended` ends their
        access at once). Only an owner makes, changes or suspends an owner; 409
        `last_owner` for the last active owner."""
        return Member.of(await members.change_member(
            svc, claims.user_id, organization_id, user_id, role=data.role,
            status=data.status, info=request_info(request)))

    @delete(MEMBER, status_code=204, security=BEARER, responses=problems(401, 403, 404, 409))
    async def remove_member(self, request: Request, organization_id: str, user_id: str,
                            svc: Services, claims: AccessClaims) -> None:
        """Owner or admin: remove a member (only an owner removes an owner); or your own id:
        leave. 409 `last_owner` for the last active owner."""
        await members.remove_member(svc, claims.user_id, organization_id, user_id,
                                    request_info(request))

    @get(ONE + "/events", security=BEARER, responses=problems(400, 401, 403, 404))
    async def list_events(self, claims: AccessClaims, organization_id: str,
                     cursor: str | None = None,
                     limit: int = Parameter(default=20, ge=1, le=100)) -> OrganizationEventPage:
        """Owner or admin: the organization's audit trail, newest first, each event with
        its `actorId` and target `userId`; pass `nextCursor` as `cursor`."""
        found, next_cursor = await events.organization_events(
            claims.user_id, organization_id, limit=limit, cursor=cursor)
        return OrganizationEventPage(items=[OrganizationEvent.of(e) for e in found],
                                     next_cursor=next_cursor)


CONTROLLERS: list[type[Controller]] = [OrganizationController]
