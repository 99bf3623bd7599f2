"""Ending (and giving back) a provisioned person's access: SCIM ``active`` and ``DELETE``.

Who owns what (issue 14): an account the organization's directory *created*
(``created_by_scim``, managed by that organization) is the directory's to deactivate and,
once it belongs to no other organization, to erase. An account the person had before
(adopted) stays theirs: the directory only suspends or removes its membership, the way an
owner does (domain/organizations/members.py), so an organization can never lock a person out
of their own account.
"""

from __future__ import annotations

import uuid

from db.repositories import erasure, memberships, organizations, scim_users, sessions, users
from db.repositories.scim_users import ScimMember
from domain.errors import LastOwner, NotFound
from domain.messages import kinds
from domain.names import AuditAction, MembershipStatus, OrganizationRole, RevokeReason
from domain.organizations.organizations import parse_id
from domain.records import MembershipRecord, ScimTokenRecord
from domain.services import RequestInfo, Services
from domain.sessions.management import end_all
from domain.unit_of_work import UnitOfWork
from domain.users.deletion import scrub_metadata

NO_USER = "No such user."
ACTIVE = MembershipStatus.ACTIVE.value
SUSPENDED = MembershipStatus.SUSPENDED.value
DIRECTORY = RequestInfo()  # the alert names no IP or browser: the directory acted


def created_by_directory(member: ScimMember, organization_id: uuid.UUID) -> bool:
    """True when this organization's directory created the account (and still owns it)."""
    return member.created_by_scim and member.managed_by_organization_id == organization_id


def is_active(member: ScimMember) -> bool:
    """SCIM ``active``: the account is active and so is its membership."""
    return member.is_active and member.status == ACTIVE


def audit_as(token: ScimTokenRecord) -> dict[str, object]:
    """The audit fields every SCIM change carries: the token as actor, its organization."""
    return {"actor_id": token.id, "organization_id": token.organization_id,
            "scimToken": str(token.id)}


async def refuse_last_owner(member: ScimMember) -> None:
    """raises LastOwner (409) when ``member`` is the organization's only active owner."""
    if (member.role == OrganizationRole.OWNER.value and is_active(member)
            and await memberships.active_owners(member.organization_id) == [member.user_id]):
        raise LastOwner("This user is the organization's last active owner: make someone "
                        "else an owner in latchkey first.")


async def _end_access(member: ScimMember) -> None:
    # what members._end_access does on suspension and removal: out of the organization's
    # teams, and no active context on it in any session
    await memberships.remove_team_memberships(member.organization_id, member.user_id)
    await sessions.clear_context(organization_id=member.organization_id,
                                 user_id=member.user_id)


async def set_active(uow: UnitOfWork, token: ScimTokenRecord, member: ScimMember,
                     active: bool) -> None:
    """Apply SCIM ``active`` (nothing when it already holds). False: an account the
    directory created is deactivated like an admin does it (domain/users/administration
    ``set_active``: sessions revoked and deny-listed after commit, so access tokens fail on
    the next request; pending links and challenges deleted; an alert); an adopted account's
    membership is suspended instead. True reverses either. Audited SCIM_USER_DEACTIVATED /
    SCIM_USER_REACTIVATED with ``scope`` account or membership. raises LastOwner."""
    if active == is_active(member):
        return
    owned = created_by_directory(member, token.organization_id)
    scope = "account" if owned else "membership"
    if not active:
        await refuse_last_owner(member)
        if owned and member.is_active:
            await users.update_profile(member.user_id, now=uow.now, is_active=False)
            await end_all(uow, member.user_id, reason=RevokeReason.DEACTIVATED)
            await erasure.delete_pending_sign_ins(member.user_id)
            user = await users.get_by_id(member.user_id)
            if user is not None:
                uow.alert(kinds.ACCOUNT_DEACTIVATED_ALERT, user=user, device=DIRECTORY,
                          device_name="your organization's directory")
        elif member.status == ACTIVE:
            await memberships.update(member.membership_id, now=uow.now, status=SUSPENDED)
            await _end_access(member)
        uow.audit(AuditAction.SCIM_USER_DEACTIVATED, member.user_id, **audit_as(token),
                  scope=scope)
        return
    if owned and not member.is_active:
        await users.update_profile(member.user_id, now=uow.now, is_active=True)
    if member.status != ACTIVE:
        await memberships.update(member.membership_id, now=uow.now, status=ACTIVE)
    uow.audit(AuditAction.SCIM_USER_REACTIVATED, member.user_id, **audit_as(token), scope=scope)


async def delete_user(svc: Services, token: ScimTokenRecord, user_text: str,
                      info: RequestInfo) -> None:
    """SCIM ``DELETE /Users/{id}`` (RFC 7644 §3.6): the membership goes, with the person's
    team memberships and active contexts in the organization. An account this directory
    created that now belongs to no other organization is erased as account deletion erases
    it (domain/users/deletion.py: rows deleted, audit trail pseudonymised, sessions
    deny-listed; the address can register again); one kept (another organization's member,
    or adopted) is no longer managed by the directory. Audited SCIM_USER_DELETED with
    ``erased``. raises NotFound (404: not this organization's member), LastOwner (409)."""
    organization_id = token.organization_id
    user_id = parse_id(user_text, NO_USER)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        member = await scim_users.get(organization_id, user_id, for_update=True)
        if member is None:
            raise NotFound(NO_USER)
        await refuse_last_owner(member)
        await memberships.remove(MembershipRecord(
            id=member.membership_id, organization_id=organization_id, user_id=user_id,
            role=member.role, status=member.status, created_at=member.created_at))
        await _end_access(member)
        erased = (created_by_directory(member, organization_id)
                  and member.organization_count <= 1 and not await _last_admin(user_id))
        if erased:
            await _erase(uow, member)
        elif member.managed_by_organization_id == organization_id:
            # the directory lets go: the profile is the person's again
            await scim_users.set_management(user_id, organization_id=None,
                                            created_by_scim=False, now=uow.now)
        uow.audit(AuditAction.SCIM_USER_DELETED, user_id, **audit_as(token), erased=erased)


async def _last_admin(user_id: uuid.UUID) -> bool:
    # the service's last admin is never erased from under it (domain/users/deletion.py)
    return await users.lock_active_admins() == [user_id]


async def _erase(uow: UnitOfWork, member: ScimMember) -> None:
    """domain/users/deletion.delete_user's erasure, for an account the directory owned."""
    live = await erasure.live_session_ids(member.user_id, uow.now)
    invitations = await erasure.erase_invitations(member.user_id, member.email)
    events = await erasure.audit_events_of(member.user_id, invitations)
    await erasure.erase_rows(member.user_id, uow.now)
    await erasure.pseudonymise_audit(member.user_id, {
        event_id: cleaned for event_id, metadata in events
        if (cleaned := scrub_metadata(metadata)) != metadata})
    uow.end_sessions(live)
