"""Invitations to an organization: invite, list pending, revoke, accept (API.md
"Organizations and context"; issue 13).

Rules:
- owners and admins invite (only an owner invites an owner), list and revoke; at most
  RATE_LIMIT_INVITATION_PER_ORGANIZATION invitations per organization (429) and
  MAX_PENDING_INVITATIONS pending ones (409 ``too_many_pending_invitations``); a member
  cannot be invited (409 ``already_member``);
- inviting an address that has a pending invitation *replaces* it (better-auth's
  ``resend``, GoTrue's re-invite): the old one is revoked, its link stops working, and a
  new one with the new role goes out; the pending count does not grow;
- the email is queued in the inviting transaction; the worker mints the token (256 bits,
  only the SHA-256 kept) and the invitation's ``expires_at`` is reset to INVITATION_TTL
  from the moment it is sent (domain/messages/delivery.py ``_mint``). The ``expiresAt``
  answered at creation is now + INVITATION_TTL;
- accepting needs the caller's email to equal the invited one (case-insensitive; 403
  ``authorization_denied``) and to be verified (403 ``email_not_verified``); the token is
  single use: a conditional UPDATE under the organization's lock and the invitation's row
  lock, so of parallel accepts exactly one wins. A caller who is a member already (another
  invitation accepted meanwhile) gets 200 with the membership unchanged, and the invitation
  is used up.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from db.repositories import invitations, memberships, organizations, users
from domain.accounts.emails import normalize_email
from domain.errors import (
    AlreadyMember,
    AuthorizationDenied,
    EmailNotVerified,
    Forbidden,
    InvalidOneTimeToken,
    NotFound,
    OneTimeTokenExpired,
    TooManyPendingInvitations,
)
from domain.messages import kinds
from domain.names import AuditAction, MembershipStatus, OrganizationRole, RateLimit
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import InvitationRecord, MembershipRecord, OrganizationRecord
from domain.services import RequestInfo, Services
from domain.tokens import hash_token
from domain.unit_of_work import UnitOfWork

NO_INVITATION = "No such pending invitation."
INVALID = "This invitation link is invalid or has already been used."
EXPIRED = "This invitation has expired. Ask for a new one."
OWNER = OrganizationRole.OWNER.value


async def invite(svc: Services, actor_id: uuid.UUID, organization_text: str, *, email: str,
                 role: str, info: RequestInfo) -> InvitationRecord:
    """Invite ``email`` to the organization as ``role`` (OrganizationRole) and queue the
    email; audited ``organization.invitation.sent``. raises NotFound, AuthorizationDenied
    (suspended), Forbidden (a member; an admin inviting an owner), RateLimited (429),
    ValidationFailed (email), AlreadyMember (409), TooManyPendingInvitations (409)."""
    organization_id = parse_id(organization_text)
    email = normalize_email(email)
    await access.require_manager(organization_id, actor_id)
    await svc.limit(RateLimit.INVITATION_PER_ORGANIZATION, str(organization_id))
    await svc.limit(RateLimit.INVITATION_PER_ACCOUNT, str(actor_id))
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        actor = await access.require_manager(organization_id, actor_id)
        if role == OWNER and actor.role != OWNER:
            raise Forbidden("Only an owner may invite an owner.")
        invitee = await users.get_by_email(email)
        if invitee is not None and await memberships.get(organization_id, invitee.id):
            raise AlreadyMember()
        replaced = await invitations.pending_for(organization_id, email, uow.now)
        if not replaced and await invitations.count_pending(
                organization_id, uow.now) >= svc.settings.max_pending_invitations:
            raise TooManyPendingInvitations()
        for old in replaced:
            await _revoke(uow, actor_id, old, reason="replaced")
        return await _send(uow, svc, actor_id, organization_id, email, role)


async def _send(uow: UnitOfWork, svc: Services, actor_id: uuid.UUID,
                organization_id: uuid.UUID, email: str, role: str) -> InvitationRecord:
    organization = await organizations.get(organization_id)
    inviter = await users.get_by_id(actor_id)
    if organization is None or inviter is None:  # locked and checked: cannot happen
        raise NotFound(access.NOT_FOUND)
    invitation = await invitations.insert(
        organization_id=organization_id, email=email, role=role, invited_by=actor_id,
        expires_at=uow.now + timedelta(seconds=svc.settings.invitation_ttl), now=uow.now)
    uow.send(kinds.INVITATION, user=None, recipient=email, data={
        "invitation_id": str(invitation.id), "organization_name": organization.name,
        "inviter": inviter.display_name or inviter.email, "role": role})
    uow.audit(AuditAction.INVITATION_SENT, None, actor_id=actor_id,
              organization_id=organization_id, invitation_id=str(invitation.id),
              email=email, role=role)
    return invitation


async def _revoke(uow: UnitOfWork, actor_id: uuid.UUID, invitation: InvitationRecord, *,
                  reason: str) -> bool:
    if not await invitations.revoke(invitation.id, uow.now):
        return False
    uow.audit(AuditAction.INVITATION_REVOKED, None, actor_id=actor_id,
              organization_id=invitation.organization_id, invitation_id=str(invitation.id),
              email=invitation.email, role=invitation.role, reason=reason)
    return True


async def list_pending(svc: Services, actor_id: uuid.UUID,
                       organization_text: str) -> list[InvitationRecord]:
    """The organization's pending invitations (not accepted, revoked or expired), oldest
    first; owner or admin. raises NotFound, AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    await access.require_manager(organization_id, actor_id)
    return await invitations.pending(organization_id, svc.clock())


async def revoke(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 invitation_text: str, info: RequestInfo) -> None:
    """Revoke a pending invitation (owner or admin): its link stops working and, if the
    worker has not sent it yet, the email is never sent. Audited
    ``organization.invitation.revoked``. raises NotFound (organization, or no such pending
    invitation: accepted, revoked and expired ones included), AuthorizationDenied,
    Forbidden."""
    organization_id = parse_id(organization_text)
    invitation_id = parse_id(invitation_text, NO_INVITATION)
    async with svc.unit_of_work(info) as uow:
        await access.require_manager(organization_id, actor_id)
        invitation = await invitations.get(organization_id, invitation_id)
        if (invitation is None or invitation.expires_at is None
                or invitation.expires_at <= uow.now
                or not await _revoke(uow, actor_id, invitation, reason="revoked")):
            raise NotFound(NO_INVITATION)


def _check_open(invitation: InvitationRecord | None, uow: UnitOfWork) -> InvitationRecord:
    """raises InvalidOneTimeToken (unknown, used, revoked), OneTimeTokenExpired."""
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        raise InvalidOneTimeToken(INVALID)
    if invitation.expires_at is None or invitation.expires_at <= uow.now:
        raise OneTimeTokenExpired(EXPIRED)
    return invitation


async def accept(svc: Services, user_id: uuid.UUID, token: str,
                 info: RequestInfo) -> tuple[OrganizationRecord, MembershipRecord]:
    """Accept the invitation whose link carried ``token``: the caller becomes a member with
    the invited role, in one transaction; audited ``organization.invitation.accepted`` and
    ``organization.member.added`` (actor: the caller). Returns (organization, membership).
    raises InvalidOneTimeToken (400 ``invalid_token``: unknown, used or revoked),
    OneTimeTokenExpired (400 ``token_expired``), AuthorizationDenied (403: another email),
    EmailNotVerified (403)."""
    token_hash = hash_token(token)
    async with svc.unit_of_work(info) as uow:
        found = await invitations.find(token_hash)
        if found is None:
            raise InvalidOneTimeToken(INVALID)
        await organizations.lock(found.organization_id)  # one lock order: organization first
        invitation = _check_open(await invitations.find(token_hash, for_update=True), uow)
        caller = await users.get_by_id(user_id)
        if caller is None or caller.email.lower() != invitation.email.lower():
            raise AuthorizationDenied("This invitation was sent to another email address.")
        if caller.email_verified_at is None:
            raise EmailNotVerified("Verify your email address before accepting the invitation.")
        if not await invitations.accept(invitation.id, token_hash=token_hash, user_id=user_id,
                                        now=uow.now):
            raise InvalidOneTimeToken(INVALID)
        where = {"actor_id": user_id, "organization_id": invitation.organization_id}
        membership = await memberships.get(invitation.organization_id, user_id)
        if membership is not None and membership.status != MembershipStatus.ACTIVE:
            # an old invitation must not look like a way back in: the owners decide that
            raise AuthorizationDenied("Your membership of this organization is suspended.")
        if membership is None:
            membership = await memberships.add(organization_id=invitation.organization_id,
                                               user_id=user_id, role=invitation.role,
                                               now=uow.now)
            uow.audit(AuditAction.MEMBER_ADDED, user_id, **where, role=invitation.role,
                      invitation_id=str(invitation.id))
        uow.audit(AuditAction.INVITATION_ACCEPTED, user_id, **where,
                  invitation_id=str(invitation.id), role=membership.role)
        organization = await organizations.get(invitation.organization_id)
    if organization is None:  # locked above: cannot happen
        raise InvalidOneTimeToken(INVALID)
    return organization, membership
