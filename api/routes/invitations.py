"""Invitations to organizations — /v1/organizations/{id}/invitations and
/v1/invitations/accept (API.md "Organizations and context"). The rules live in
domain.organizations.invitations; an organization one cannot see answers 404."""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from msgspec import Struct

from api.deps import SIGNED_IN, provide_services, request_info
from api.openapi import BEARER, problems
from api.organization_schemas import Organization, RoleName
from api.schemas import Camel, Email, TokenRequest
from domain.organizations import invitations
from domain.records import InvitationRecord
from domain.services import Services
from domain.tokens import AccessClaims


class InvitationRequest(Camel):
    email: Email
    role: RoleName = "member"


class InvitationCreated(Struct, rename="camel"):
    """``expiresAt``: now + INVITATION_TTL; the link's own lifetime starts when the worker
    sends the email."""

    id: uuid.UUID
    email: str
    role: RoleName
    expires_at: datetime

    @classmethod
    def of(cls, invitation: InvitationRecord) -> InvitationCreated:
        return cls(id=invitation.id, email=invitation.email,
                   role=invitation.role,  # type: ignore[arg-type]
                   expires_at=invitation.expires_at)  # type: ignore[arg-type]


class PendingInvitation(Struct, rename="camel"):
    id: uuid.UUID
    email: str
    role: RoleName
    expires_at: datetime
    invited_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, invitation: InvitationRecord) -> PendingInvitation:
        return cls(id=invitation.id, email=invitation.email,
                   role=invitation.role,  # type: ignore[arg-type]
                   expires_at=invitation.expires_at,  # type: ignore[arg-type]
                   invited_by=invitation.invited_by, created_at=invitation.created_at)


class PendingInvitationList(Struct, rename="camel"):
    items: list[PendingInvitation]


class AcceptedInvitation(Struct, rename="camel"):
    organization: Organization
    role: RoleName


class OrganizationInvitationController(Controller):
    path = "/v1/organizations/{organization_id:str}/invitations"
    tags = ["organizations"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/", security=BEARER, responses=problems(400, 401, 403, 404, 409, 429))
    async def create(self, request: Request, organization_id: str, data: InvitationRequest,
                     svc: Services, claims: AccessClaims) -> InvitationCreated:
        """Owner or admin: invite an email address (only an owner invites an `owner`); the
        worker emails a one-time link. A pending invitation to the same address is
        replaced. 409 `already_member`, `too_many_pending_invitations`; 429 past the
        hourly limit per organization."""
        return InvitationCreated.of(await invitations.invite(
            svc, claims.user_id, organization_id, email=data.email, role=data.role,
            info=request_info(request)))

    @get("/", security=BEARER, responses=problems(401, 403, 404))
    async def pending(self, organization_id: str, svc: Services,
                      claims: AccessClaims) -> PendingInvitationList:
        """Owner or admin: invitations neither accepted, revoked nor expired, oldest first."""
        found = await invitations.list_pending(svc, claims.user_id, organization_id)
        return PendingInvitationList(items=[PendingInvitation.of(i) for i in found])

    @delete("/{invitation_id:str}", status_code=204, security=BEARER,
            responses=problems(401, 403, 404))
    async def revoke(self, request: Request, organization_id: str, invitation_id: str,
                     svc: Services, claims: AccessClaims) -> None:
        """Owner or admin: revoke a pending invitation; its link stops working and an
        email not yet sent is never sent."""
        await invitations.revoke(svc, claims.user_id, organization_id, invitation_id,
                                 request_info(request))


class InvitationController(Controller):
    path = "/v1/invitations"
    tags = ["organizations"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/accept", status_code=200, security=BEARER, responses=problems(400, 401, 403))
    async def accept(self, request: Request, data: TokenRequest, svc: Services,
                     claims: AccessClaims) -> AcceptedInvitation:
        """Join the organization with the token from the invitation's link. Your verified
        email must be the one invited (403 `authorization_denied`, `email_not_verified`);
        400 `invalid_token` (unknown, used, revoked) or `token_expired`."""
        organization, membership = await invitations.accept(
            svc, claims.user_id, data.token, request_info(request))
        return AcceptedInvitation(organization=Organization.of(organization),
                                  role=membership.role)  # type: ignore[arg-type]


CONTROLLERS: list[type[Controller]] = [OrganizationInvitationController, InvitationController]
