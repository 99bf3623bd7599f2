"""A team as a SCIM ``Group`` (RFC 7643 §4.2) and back, and the attributes its filters read.

Served: ``id`` = the team id; ``displayName`` = its name; ``externalId`` = the directory's;
``members`` = [{value: user id, display: name, $ref: the User's location, type: "User"}];
``meta`` with the ETag as ``version``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request
from scim2_models import Context, Group, ResponseParameters, ScimPolicy

from api.scim.base import location, version_of
from api.scim.filters import Attribute
from db.repositories.scim_groups import GroupMember, ScimTeam
from domain.directory.scim_groups import GroupState

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Okta and Entra ID send what they send: unknown attributes are dropped (not refused), PATCH
# ``remove`` of ``members`` with a value removes those members (Okta)
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore,
                    remove_value_as_filter=ScimPolicy.RemoveValue.apply)


def _in_members(condition: str) -> str:
    return ("EXISTS (SELECT 1 FROM team_memberships tm WHERE tm.team_id = t.id "
            f"AND {condition})")


FILTER: dict[str, Attribute | str] = {
    "id": Attribute("CAST(t.id AS TEXT)", case_exact=True),
    "displayname": "t.name",
    "externalid": Attribute("t.scim_external_id", case_exact=True),
    "members.value": Attribute("CAST(tm.user_id AS TEXT)", case_exact=True,
                               within=_in_members),
    "members.type": Attribute("'User'", within=_in_members),
}
"""SCIM filter attributes (api/scim/filters.py) over scim_groups' ``t``."""


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def resource_of(team: ScimTeam, members: list[GroupMember],
                request: Request) -> dict[str, Any]:
    """The team as a SCIM Group JSON object with ``meta`` (``version`` = its ETag)."""
    body: dict[str, Any] = {"schemas": [SCHEMA], "id": str(team.id)}
    if team.scim_external_id is not None:
        body["externalId"] = team.scim_external_id
    body["displayName"] = team.name
    body["members"] = [
        {"value": str(m.user_id), **({"display": m.name} if m.name else {}),
         "$ref": location(request, "Users", m.user_id), "type": "User"} for m in members]
    body["meta"] = {
        "resourceType": "Group", "created": _time(team.created_at),
        "lastModified": _time(team.updated_at),
        "location": location(request, "Groups", team.id), "version": version_of(body)}
    return body


def shaped(resource: dict[str, Any], attributes: str | None,
           excluded: str | None) -> dict[str, Any]:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes`` (scim2-models does the
    selection; ``id`` and ``schemas`` are always returned). Entra ID lists groups with
    ``excludedAttributes=members``."""
    if not attributes and not excluded:
        return resource
    wanted = ResponseParameters[Group].model_validate(
        {"attributes": attributes, "excluded_attributes": excluded})
    group = Group.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                                 scim_policy=POLICY)
    return group.model_dump(mode="json", scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                            response_parameters=wanted, scim_policy=POLICY)


def parse_group(body: dict[str, Any], context: Context) -> Group:
    """``body`` as a SCIM Group (creation or replacement request). raises pydantic's
    ValidationError (a 400 SCIM error, api/scim/base.py)."""
    return Group.model_validate(body, scim_ctx=context, scim_policy=POLICY)


def stored_group(resource: dict[str, Any]) -> Group:
    """A served resource as a Group model (what a PATCH applies to)."""
    served = {k: v for k, v in resource.items() if k != "meta"}
    return Group.model_validate(served, scim_policy=POLICY)


def state_of(group: Group) -> GroupState:
    """What the directory wants, for domain/directory/scim_groups. No ``members`` means
    none (a PUT replaces the whole resource, RFC 7644 §3.5.1)."""
    return GroupState(display_name=group.display_name or "", external_id=group.external_id,
                      members=[str(m.value or "") for m in group.members or []])
