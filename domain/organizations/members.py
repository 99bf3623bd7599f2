"""An organization's members: list them, change a role or status, remove one, leave.

Rules (API.md "Organizations and context", issue 13):
- owners and admins manage members; only an owner may make someone an owner or change an
  owner's role or status, or remove an owner;
- an organization always keeps at least one *active* owner (409 ``last_owner``): the last
  one cannot be demoted, suspended, removed, or leave. Every change first locks the
  organization's row (organizations.lock) and then re-reads the caller's membership and the
  active owners, so two owners demoting each other at once cannot both succeed;
- removal and suspension take effect at once: the person's active context on the
  organization is cleared from their sessions (the next refresh carries no ``ctx``), they
  leave its teams, and organization routes check the membership on every request.
Every change is audited with the caller as ``actor_id`` and the member as ``user_id``.
"""

from __future__ import annotations

import uuid

from db.repositories import memberships, organizations, sessions
from domain import audit
from domain.errors import LastOwner, NotFound, ValidationFailed
from domain.names import AuditAction, MembershipStatus, OrganizationRole
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import MemberRecord, MembershipRecord
from domain.services import RequestInfo, Services
from domain.unit_of_work import UnitOfWork

NO_MEMBER = "No such member."
OWNER = OrganizationRole.OWNER.value
ACTIVE = MembershipStatus.ACTIVE.value
SUSPENDED = MembershipStatus.SUSPENDED.value


async def list_members(actor_id: uuid.UUID, organization_text: str, *, limit: int,
                       cursor: str | None) -> tuple[list[MemberRecord], str | None]:
    """(members in the order they joined, next cursor or None), for active members.
    limit: 1..100. raises NotFound, AuthorizationDenied, ValidationFailed (limit, cursor)."""
    organization_id = parse_id(organization_text)
    if not 1 <= limit <= audit.MAX_PAGE:
        raise ValidationFailed([("limit", f"must be between 1 and {audit.MAX_PAGE}")])
    after = audit.decode_cursor(cursor) if cursor else None
    await access.require_member(organization_id, actor_id)
    found = await memberships.page(organization_id, limit=limit + 1, after=after)
    more = len(found) > limit
    found = found[:limit]
    return found, (audit.encode_cursor(found[-1]) if more else None)


async def _target(organization_id: uuid.UUID, user_text: str) -> MembershipRecord:
    user_id = parse_id(user_text, NO_MEMBER)
    target = await memberships.get(organization_id, user_id)
    if target is None:
        raise NotFound(NO_MEMBER)
    return target


async def _refuse_last_owner(target: MembershipRecord) -> None:
    """raises LastOwner when ``target`` is the organization's only active owner."""
    if (target.role == OWNER and target.status == ACTIVE
            and await memberships.active_owners(target.organization_id) == [target.user_id]):
        raise LastOwner()


async def _end_access(uow: UnitOfWork, target: MembershipRecord) -> None:
    """What removal and suspension share: out of the organization's teams, and no active
    context on it in any of the person's sessions."""
    await memberships.remove_team_memberships(target.organization_id, target.user_id)
    await sessions.clear_context(organization_id=target.organization_id,
                                 user_id=target.user_id)


async def change_member(svc: Services, actor_id: uuid.UUID, organization_text: str,
                        user_text: str, *, role: str | None, status: str | None,
                        info: RequestInfo) -> MemberRecord:
    """Set a member's role (OrganizationRole) and/or status (MembershipStatus); owner or
    admin. Audited ``role_changed`` (role, previous), ``suspended`` or ``reactivated`` when
    something changes. raises NotFound (organization or member), AuthorizationDenied,
    Forbidden (a member; an admin touching an owner or making one), ValidationFailed
    (nothing sent; suspending yourself), LastOwner (409)."""
    organization_id = parse_id(organization_text)
    if role is None and status is None:
        raise ValidationFailed([("body", "send role, status or both")])
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        actor = await access.require_manager(organization_id, actor_id)
        target = await _target(organization_id, user_text)
        if OWNER in (role, target.role):
            await access.require_owner(organization_id, actor_id)
        if status == SUSPENDED and target.user_id == actor.user_id:
            raise ValidationFailed([("status", "you cannot suspend yourself; leave instead")])
        role = role if role not in (None, target.role) else None
        status = status if status not in (None, target.status) else None
        if role is not None or status == SUSPENDED:
            await _refuse_last_owner(target)
        if role is not None or status is not None:
            await memberships.update(target.id, now=uow.now, role=role, status=status)
        where = {"actor_id": actor_id, "organization_id": organization_id}
        if role is not None:
            uow.audit(AuditAction.MEMBER_ROLE_CHANGED, target.user_id, **where, role=role,
                      previous=target.role)
        if status == SUSPENDED:
            await _end_access(uow, target)
            uow.audit(AuditAction.MEMBER_SUSPENDED, target.user_id, **where)
        elif status == ACTIVE:
            uow.audit(AuditAction.MEMBER_REACTIVATED, target.user_id, **where)
    found = await memberships.member(organization_id, target.user_id)
    if found is None:  # removed meanwhile
        raise NotFound(NO_MEMBER)
    return found


async def remove_member(svc: Services, actor_id: uuid.UUID, organization_text: str,
                        user_text: str, info: RequestInfo) -> None:
    """Remove a member (owner or admin; only an owner removes an owner) or leave (your own
    id, any role). The membership is uncounted from ``organization_count``, its team
    memberships and active contexts end; audited ``organization.member.removed`` with
    ``reason`` ``left`` or ``removed``. raises NotFound, AuthorizationDenied, Forbidden,
    LastOwner (409: the last active owner, leaving included)."""
    organization_id = parse_id(organization_text)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        # anyone may leave, a suspended member too (issue 13: only the last owner cannot);
        # removing someone else needs an active manager — checked before the target is
        # looked up, so an outsider cannot tell members from strangers by the 404's text
        leaving = user_text.strip().lower() == str(actor_id)
        if leaving:
            await _own_membership(organization_id, actor_id)
        else:
            await access.require_manager(organization_id, actor_id)
        target = await _target(organization_id, user_text)
        if not leaving and target.role == OWNER:
            await access.require_owner(organization_id, actor_id)
        await _refuse_last_owner(target)
        await memberships.remove(target)
        await _end_access(uow, target)
        uow.audit(AuditAction.MEMBER_REMOVED, target.user_id, actor_id=actor_id,
                  organization_id=organization_id, reason="left" if leaving else "removed",
                  role=target.role)


async def _own_membership(organization_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """raises NotFound unless the caller has a membership (of any status) here."""
    if await memberships.get(organization_id, user_id) is None:
        raise NotFound(access.NOT_FOUND)
