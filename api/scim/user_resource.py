"""A member as a SCIM ``User`` (RFC 7643 §4.1) and back, and the attributes its filters read.

Served: ``id`` = the user id; ``userName`` = the directory's, else the email; ``externalId``;
``displayName`` and ``name.formatted`` = the account's name; ``emails`` = the account's
address (primary, work); ``phoneNumbers`` = its phone (work); ``active`` = account and
membership active; the other attributes the directory sent (``name.givenName``, ``title``,
the enterprise extension...) as it sent them; ``meta`` with the ETag as ``version``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from litestar import Request
from scim2_models import (
    Context,
    EnterpriseUser,
    InvalidValueException,
    ScimPolicy,
    User,
)

from api.scim.base import location, version_of
from api.scim.filters import Attribute
from db.repositories.scim_users import ScimMember
from domain.directory.deprovisioning import is_active
from domain.directory.provisioning import DirectoryProfile

ScimUser = User[EnterpriseUser]
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# what latchkey models itself (never kept among the directory's attributes); ``password`` is
# writeOnly and never stored (a provisioned person has no password here), ``groups`` is
# readOnly (RFC 7643 §4.1.2: Groups are changed through /Groups)
OWN = frozenset({"schemas", "id", "externalId", "meta", "userName", "displayName", "emails",
                 "phoneNumbers", "active", "password", "groups"})
MAX_ATTRIBUTES = 32_768  # bytes of JSON kept per member for attributes latchkey does not model
# Okta and Entra ID send what they send: attributes of extensions we do not declare are
# dropped (not refused), PATCH ``remove`` with a value selects what to remove (Entra), and a
# path filter matching nothing adds the entry (Entra's ``emails[type eq "work"].value``)
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore,
                    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)

FILTER: dict[str, Attribute | str] = {
    "id": Attribute("CAST(u.id AS TEXT)", case_exact=True),
    "username": "COALESCE(m.scim_user_name, u.email)",
    "externalid": Attribute("m.scim_external_id", case_exact=True),
    "emails.value": "u.email",
    "emails.type": "'work'",
    "emails.primary": Attribute("TRUE", kind="boolean"),
    "displayname": "u.name",
    "name.formatted": "u.name",
    "phonenumbers.value": "u.phone_number",
    "phonenumbers.type": "'work'",
    "active": Attribute("(u.is_active AND m.status = 'active')", kind="boolean"),
}
"""SCIM filter attributes (api/scim/filters.py) over scim_users' ``m`` and ``u``."""


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def resource_of(member: ScimMember, request: Request) -> dict[str, Any]:
    """The member as a SCIM User JSON object with ``meta`` (``version`` = its ETag)."""
    attributes = dict(member.scim_attributes)
    schemas = [SCHEMA] + ([ENTERPRISE] if ENTERPRISE in attributes else [])
    body: dict[str, Any] = {"schemas": schemas, "id": str(member.user_id)}
    if member.scim_external_id is not None:
        body["externalId"] = member.scim_external_id
    body["userName"] = member.scim_user_name or member.email
    name = {k: v for k, v in (attributes.pop("name", None) or {}).items() if k != "formatted"}
    if member.name:
        body["displayName"] = member.name
        name["formatted"] = member.name
    if name:
        body["name"] = name
    body.update(attributes)
    body["emails"] = [{"value": member.email, "primary": True, "type": "work"}]
    if member.phone_number:
        body["phoneNumbers"] = [{"value": member.phone_number, "type": "work"}]
    body["active"] = is_active(member)
    body["meta"] = {
        "resourceType": "User", "created": _time(member.created_at),
        "lastModified": _time(max(member.updated_at, member.user_updated_at)),
        "location": location(request, "Users", member.user_id), "version": version_of(body)}
    return body


def parse_user(body: dict[str, Any], context: Context) -> ScimUser:
    """``body`` as a SCIM User (creation or replacement request). raises pydantic's
    ValidationError (a 400 SCIM error, api/scim/base.py)."""
    return ScimUser.model_validate(body, scim_ctx=context, scim_policy=POLICY)


def stored_user(member: ScimMember, request: Request) -> ScimUser:
    """The member as a SCIM User model (what a PATCH applies to)."""
    served = resource_of(member, request)
    served.pop("meta")
    return ScimUser.model_validate(served, scim_policy=POLICY)


def _pick(values: list[Any] | None, preferred: str) -> Any:
    """RFC 7643 §2.4: the ``primary`` value, else the first of type ``preferred``, else the
    first."""
    if not values:
        return None
    for value in values:
        if value.primary:
            return value
    return next((v for v in values if str(v.type or "") == preferred), values[0])


def profile_of(user: ScimUser, *, keep_active: bool) -> DirectoryProfile:
    """What the directory says, for domain/directory/provisioning. keep_active: an absent
    ``active`` leaves the account as it is (PUT) rather than meaning true (POST).
    raises InvalidValueException (attributes too large)."""
    email = _pick(user.emails, "work")
    phone = _pick(user.phone_numbers, "mobile")  # latchkey's phone is the one texts go to
    name = user.display_name or (user.name.formatted if user.name else None)
    if not name and user.name:
        name = " ".join(p for p in (user.name.given_name, user.name.family_name) if p)
    kept = user.model_dump(mode="json", scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                           scim_policy=POLICY)
    attributes = {k: v for k, v in kept.items() if k not in OWN}
    if isinstance(attributes.get("name"), dict):
        attributes["name"] = {k: v for k, v in attributes["name"].items() if k != "formatted"}
        if not attributes["name"]:
            del attributes["name"]
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES:
        raise InvalidValueException(
            detail=f"The user's other attributes are larger than {MAX_ATTRIBUTES} bytes.")
    active = user.active if user.active is not None else (None if keep_active else True)
    return DirectoryProfile(
        user_name=user.user_name or "", external_id=user.external_id,
        email=str(email.value) if email and email.value else None, name=name or None,
        phone=str(phone.value) if phone and phone.value else None, active=active,
        attributes=attributes)
