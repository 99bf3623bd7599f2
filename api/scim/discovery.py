"""SCIM discovery (RFC 7644 §4): ``/ServiceProviderConfig``, ``/ResourceTypes`` and
``/Schemas``, built with scim2-models' ScimProvider from the models we serve.

They announce what latchkey really does: PATCH yes, bulk no, filter yes (at most 200 results
a page), changePassword no (a provisioned person has no password here), sort no, ETags yes,
authentication by an OAuth bearer token (the organization's SCIM token). The User schema
leaves out ``password`` (never stored) and ``groups`` (not served: groups are read through
/Groups) and marks ``emails`` (its ``value``) required; every other attribute is kept as the
directory sends it (api/scim/user_resource.py).
Like every SCIM route these need the SCIM token (RFC 7644 §4 allows it).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, route
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    Group,
    NotFoundException,
    NotImplementedException,
    Patch,
    ResourceType,
    Schema,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from api.scim.base import PREFIX, scim_response
from domain.records import ScimTokenRecord

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_RESULTS = 200  # api/scim/users.py and groups.py MAX_COUNT
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
NOT_SERVED = {USER: {"password", "groups"}}
# sub-attributes as we serve them: None = not served; "readOnly" = we set it (a User's one
# address is the primary work address, its phone the work phone; a member's display is the
# person's name in latchkey)
SUB_ATTRIBUTES: dict[tuple[str, str], dict[str, str | None]] = {
    (USER, "emails"): {"display": None, "type": "readOnly", "primary": "readOnly"},
    (USER, "phoneNumbers"): {"display": None, "primary": None, "type": "readOnly"},
    (GROUP, "members"): {"display": "readOnly"},
}
# latchkey's accounts are reached by email: a User needs one (provisioning.checked; a
# userName that is an address stands in for it, which a schema cannot say)
REQUIRED = {USER: {"emails"}}

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=True),
    authentication_schemes=[AuthenticationScheme(
        type="oauthbearertoken", name="OAuth Bearer Token", primary=True,
        description="The organization's SCIM token: Authorization: Bearer <token>.")],
)
PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[ResourceType.from_resource(User[EnterpriseUser]),
                    ResourceType.from_resource(Group)],
    config=CONFIG,
)


def _served(schema: Schema) -> dict[str, Any]:
    body = schema.model_dump(mode="json")
    hidden = NOT_SERVED.get(body["id"], set())
    body["attributes"] = [a for a in body["attributes"] if a["name"] not in hidden]
    for attribute in body["attributes"]:
        if attribute["name"] in REQUIRED.get(body["id"], set()):
            attribute["required"] = True
            for sub in attribute.get("subAttributes") or []:
                sub["required"] = sub["required"] or sub["name"] == "value"
        served = SUB_ATTRIBUTES.get((body["id"], attribute["name"]))
        if served and attribute.get("subAttributes"):
            attribute["subAttributes"] = [
                {**sub, "mutability": served.get(sub["name"]) or sub["mutability"]}
                for sub in attribute["subAttributes"]
                if sub["name"] not in served or served[sub["name"]] is not None]
    return body


SCHEMAS = {s.id: _served(s) for s in PROVIDER.schemas}
RESOURCE_TYPES = {str(r.id): r.model_dump(mode="json") for r in PROVIDER.resource_types}


def _with_meta(body: dict[str, Any], request: Request, resource_type: str,
               path: str) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {**body, "meta": {"resourceType": resource_type,
                             "location": f"{base}{PREFIX}/{path}"}}


def _listed(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [LIST_RESPONSE], "totalResults": len(items), "startIndex": 1,
            "itemsPerPage": len(items), "Resources": items}


@get("/ServiceProviderConfig")
async def service_provider_config(request: Request, token: ScimTokenRecord) -> Response[Any]:
    body = CONFIG.model_dump(mode="json")
    return scim_response(_with_meta(body, request, "ServiceProviderConfig",
                                    "ServiceProviderConfig"))


@get("/ResourceTypes")
async def resource_types(request: Request, token: ScimTokenRecord) -> Response[Any]:
    return scim_response(_listed([_with_meta(r, request, "ResourceType", f"ResourceTypes/{k}")
                                  for k, r in RESOURCE_TYPES.items()]))


@get("/ResourceTypes/{name:str}")
async def resource_type(request: Request, token: ScimTokenRecord, name: str) -> Response[Any]:
    if name not in RESOURCE_TYPES:
        raise NotFoundException(detail=f"No resource type {name}.")
    return scim_response(_with_meta(RESOURCE_TYPES[name], request, "ResourceType",
                                    f"ResourceTypes/{name}"))


@get("/Schemas")
async def schemas(request: Request, token: ScimTokenRecord) -> Response[Any]:
    return scim_response(_listed([_with_meta(s, request, "Schema", f"Schemas/{k}")
                                  for k, s in SCHEMAS.items()]))


@get("/Schemas/{schema_id:str}")
async def schema(request: Request, token: ScimTokenRecord, schema_id: str) -> Response[Any]:
    if schema_id not in SCHEMAS:
        raise NotFoundException(detail=f"No schema {schema_id}.")
    return scim_response(_with_meta(SCHEMAS[schema_id], request, "Schema",
                                    f"Schemas/{schema_id}"))


@post("/.search")
async def search_everything(token: ScimTokenRecord) -> None:
    """RFC 7644 §3.4.3 search at the root (several resource types at once): not supported,
    501 as §3.12 says; GET /Users or /Groups with a ``filter`` instead."""
    raise NotImplementedException(detail="Search with GET /Users or /Groups and a filter.")


@route("/{rest:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(token: ScimTokenRecord, rest: str) -> None:
    """Any other path under /scim/v2: a SCIM 404 (RFC 7644 §3.12), not the API's problem+json
    (Litestar's own 404 is raised before the router's exception handlers run)."""
    raise NotFoundException(detail="There is no such SCIM endpoint.")


def not_allowed(path: str, methods: list[str], allowed: str) -> Any:
    """A handler answering ``methods`` on ``path`` with a SCIM 405 (Litestar's own 405 is
    raised before the router's exception handlers run, as problem+json)."""

    @route(path, http_method=methods, name=f"not-allowed:{path}", status_code=405)
    async def refuse(token: ScimTokenRecord) -> Response[Any]:
        body = Error(status=405, detail=f"{path} takes {allowed} only.")
        return scim_response(body.model_dump(mode="json"), status=405,
                             headers={"Allow": allowed})  # RFC 9110 §15.5.6

    return refuse


WRITES = ["POST", "PUT", "PATCH", "DELETE"]
HANDLERS: list[Any] = [
    service_provider_config, resource_types, resource_type, schemas, schema,
    search_everything, unknown,
    *(not_allowed(path, WRITES, "GET") for path in (
        "/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/{name:str}", "/Schemas",
        "/Schemas/{schema_id:str}")),
    not_allowed("/Groups", ["PUT", "PATCH", "DELETE"], "GET, POST"),
    not_allowed("/Groups/{group_id:str}", ["POST"], "GET, PUT, PATCH, DELETE"),
]
