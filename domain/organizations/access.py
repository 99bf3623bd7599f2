"""Who may do what in an organization: the one place organization role checks live.

Read fresh from the database on every request, never from the access token's ``orgRole``:
a removal or suspension counts at once, not when the token expires (issue 13)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from db.repositories import memberships
from domain.errors import AuthorizationDenied, Forbidden, NotFound
from domain.names import MANAGERS, MembershipStatus, OrganizationRole
from domain.records import MembershipRecord

NOT_FOUND = "No such organization."


async def require_member(organization_id: uuid.UUID, user_id: uuid.UUID, *,
                         roles: Iterable[OrganizationRole] | None = None,
                         for_update: bool = False) -> MembershipRecord:
    """The caller's active membership of the organization.

    roles: the roles allowed (default any). for_update: lock the membership row (call in a
    transaction). raises NotFound (404) when the caller is not a member or the organization
    does not exist — ids of organizations one cannot see never leak; AuthorizationDenied
    (403 ``authorization_denied``) when the membership is suspended; Forbidden (403) when
    the role is not among ``roles``."""
    membership = await memberships.get(organization_id, user_id, for_update=for_update)
    if membership is None:
        raise NotFound(NOT_FOUND)
    if membership.status != MembershipStatus.ACTIVE:
        raise AuthorizationDenied("Your membership of this organization is suspended.")
    if roles is not None and membership.role not in {r.value for r in roles}:
        raise Forbidden("This needs the role " + " or ".join(r.value for r in roles) + ".")
    return membership


async def require_manager(organization_id: uuid.UUID, user_id: uuid.UUID, *,
                          for_update: bool = False) -> MembershipRecord:
    """An active owner's or admin's membership; raises as :func:`require_member`."""
    return await require_member(organization_id, user_id, roles=MANAGERS, for_update=for_update)


async def require_owner(organization_id: uuid.UUID, user_id: uuid.UUID, *,
                        for_update: bool = False) -> MembershipRecord:
    """An active owner's membership; raises as :func:`require_member`."""
    return await require_member(organization_id, user_id, roles=(OrganizationRole.OWNER,),
                                for_update=for_update)
