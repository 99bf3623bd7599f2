"""SCIM ``/Users`` (RFC 7644 §3.3-3.6): the organization's members, as its identity
provider's directory creates, reads, lists, replaces, patches and deletes them. The rules
live in domain/directory/provisioning.py and deprovisioning.py; here: SCIM's JSON."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import Parameter
from scim2_models import Context, PatchOp, ResponseParameters

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
from api.scim.user_resource import (
    FILTER,
    POLICY,
    SCHEMA,
    ScimUser,
    parse_user,
    profile_of,
    resource_of,
    stored_user,
)
from db.repositories.scim_users import ScimMember
from domain.directory import deprovisioning, profile_updates, provisioning
from domain.directory.provisioning import DirectoryProfile
from domain.records import ScimTokenRecord

ONE = "/Users/{user_id:str}"

def _shaped(resource: dict[str, Any], attributes: str | None,
            excluded: str | None) -> dict[str, Any]:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes`` (scim2-models does the
    selection; ``id`` and ``schemas`` are always returned)."""
    if not attributes and not excluded:
        return resource
    wanted = ResponseParameters[ScimUser].model_validate(
        {"attributes": attributes, "excluded_attributes": excluded})
    user = ScimUser.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                                   scim_policy=POLICY)
    return user.model_dump(mode="json", scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                           response_parameters=wanted, scim_policy=POLICY)


@post("/Users", status_code=201)
async def create_user(request: Request, token: ScimTokenRecord) -> Response[Any]:
    user = parse_user(await read_body(request), Context.RESOURCE_CREATION_REQUEST)
    member = await provisioning.create_user(services(request), token,
                                            profile_of(user, keep_active=False),
                                            request_info(request))
    resource = resource_of(member, request)
    return resource_response(resource, status=201, location=resource["meta"]["location"])


@get(ONE)
async def get_user(request: Request, token: ScimTokenRecord, user_id: str,
                   attributes: str | None = None,
                   excluded: str | None = Parameter(query="excludedAttributes", default=None),
                   ) -> Response[Any]:
    resource = resource_of(await provisioning.get_user(token, user_id), request)
    return scim_response(_shaped(resource, attributes, excluded),
                         headers={"ETag": resource["meta"]["version"]})


@get("/Users")
async def list_users(request: Request, token: ScimTokenRecord, filter: str | None = None,
                     start: int = Parameter(query="startIndex", default=1),
                     count: int = Parameter(query="count", default=DEFAULT_COUNT),
                     attributes: str | None = None,
                     excluded: str | None = Parameter(query="excludedAttributes", default=None),
                     ) -> Response[Any]:
    start, count = paging(start, count)
    condition = where(filter, FILTER, schema=SCHEMA) if filter else None
    found, total = await provisioning.list_users(token, condition, start_index=start,
                                                 count=count)
    resources = [_shaped(resource_of(m, request), attributes, excluded) for m in found]
    return list_response(resources, total=total, start=start)


@put(ONE)
async def replace_user(request: Request, token: ScimTokenRecord, user_id: str) -> Response[Any]:
    user = parse_user(await read_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)

    def change(member: ScimMember) -> DirectoryProfile:
        check_if_match(request, resource_of(member, request)["meta"]["version"])
        return profile_of(user, keep_active=True)

    return await _updated(request, token, user_id, change)


@patch(ONE)
async def patch_user(request: Request, token: ScimTokenRecord, user_id: str) -> Response[Any]:
    operations = PatchOp[ScimUser].model_validate(
        await read_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)

    def change(member: ScimMember) -> DirectoryProfile:
        check_if_match(request, resource_of(member, request)["meta"]["version"])
        user = stored_user(member, request)  # the resource as served, then the operations
        operations.patch(user, scim_policy=POLICY)
        return profile_of(user, keep_active=True)

    return await _updated(request, token, user_id, change)


async def _updated(request: Request, token: ScimTokenRecord, user_id: str,
                   change: Any) -> Response[Any]:
    member = await profile_updates.update_user(services(request), token, user_id, change,
                                            request_info(request))
    return resource_response(resource_of(member, request))


@delete(ONE, status_code=204)
async def delete_user(request: Request, token: ScimTokenRecord, user_id: str) -> None:
    await deprovisioning.delete_user(services(request), token, user_id, request_info(request))


HANDLERS: list[Any] = [create_user, get_user, list_users, replace_user, patch_user,
                       delete_user]
