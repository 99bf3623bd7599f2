"""SCIM ``/Groups`` (RFC 7644 §3.3-3.6): the organization's teams, as its identity provider's
directory creates, reads, lists, replaces, patches (members in Okta's and Entra ID's shapes)
and deletes them. The rules live in domain/directory/scim_groups.py; here: SCIM's JSON."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import Parameter
from scim2_models import Context, Group, PatchOp

from api.deps import request_info
from api.scim.base import (
    DEFAULT_COUNT,
    check_if_match,
    list_response,
    paging,
    read_body,
    resource_response,
    scim_response,
    services,
)
from api.scim.filters import where
from api.scim.group_resource import (
    FILTER,
    POLICY,
    SCHEMA,
    parse_group,
    resource_of,
    shaped,
    state_of,
    stored_group,
)
from db.repositories.scim_groups import GroupMember, ScimTeam
from domain.directory import scim_groups
from domain.directory.scim_groups import GroupState
from domain.records import ScimTokenRecord

ONE = "/Groups/{group_id:str}"

async def _resource(team: ScimTeam, request: Request) -> dict[str, Any]:
    members = await scim_groups.members_of([team])
    return resource_of(team, members[team.id], request)


@post("/Groups", status_code=201)
async def create_group(request: Request, token: ScimTokenRecord) -> Response[Any]:
    group = parse_group(await read_body(request), Context.RESOURCE_CREATION_REQUEST)
    team = await scim_groups.create_group(services(request), token, state_of(group),
                                          request_info(request))
    resource = await _resource(team, request)
    return resource_response(resource, status=201, location=resource["meta"]["location"])


@get(ONE)
async def get_group(request: Request, token: ScimTokenRecord, group_id: str,
                    attributes: str | None = None,
                    excluded: str | None = Parameter(query="excludedAttributes", default=None),
                    ) -> Response[Any]:
    resource = await _resource(await scim_groups.get_group(token, group_id), request)
    return scim_response(shaped(resource, attributes, excluded),
                         headers={"ETag": resource["meta"]["version"]})


@get("/Groups")
async def list_groups(request: Request, token: ScimTokenRecord, filter: str | None = None,
                      start: int = Parameter(query="startIndex", default=1),
                      count: int = Parameter(query="count", default=DEFAULT_COUNT),
                      attributes: str | None = None,
                      excluded: str | None = Parameter(query="excludedAttributes", default=None),
                      ) -> Response[Any]:
    start, count = paging(start, count)
    condition = where(filter, FILTER, schema=SCHEMA) if filter else None
    found, total = await scim_groups.list_groups(token, condition, start_index=start,
                                                 count=count)
    members = await scim_groups.members_of(found)  # one query for the page, not per group
    resources = [shaped(resource_of(t, members[t.id], request), attributes, excluded)
                 for t in found]
    return list_response(resources, total=total, start=start)


@put(ONE)
async def replace_group(request: Request, token: ScimTokenRecord,
                        group_id: str) -> Response[Any]:
    group = parse_group(await read_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)

    def change(team: ScimTeam, members: list[GroupMember]) -> GroupState:
        check_if_match(request, resource_of(team, members, request)["meta"]["version"])
        return state_of(group)

    return await _updated(request, token, group_id, change)


@patch(ONE)
async def patch_group(request: Request, token: ScimTokenRecord, group_id: str) -> Response[Any]:
    operations = PatchOp[Group].model_validate(
        await read_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)

    def change(team: ScimTeam, members: list[GroupMember]) -> GroupState:
        resource = resource_of(team, members, request)
        check_if_match(request, resource["meta"]["version"])
        group = stored_group(resource)  # the resource as served, then the operations
        operations.patch(group, scim_policy=POLICY)
        return state_of(group)

    return await _updated(request, token, group_id, change)


async def _updated(request: Request, token: ScimTokenRecord, group_id: str,
                   change: Any) -> Response[Any]:
    team = await scim_groups.update_group(services(request), token, group_id, change,
                                          request_info(request))
    return resource_response(await _resource(team, request))


@delete(ONE, status_code=204)
async def delete_group(request: Request, token: ScimTokenRecord, group_id: str) -> None:
    await scim_groups.delete_group(services(request), token, group_id, request_info(request))


HANDLERS: list[Any] = [create_group, get_group, list_groups, replace_group, patch_group,
                       delete_group]
