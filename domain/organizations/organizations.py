"""Organizations as their members see them: create, list mine, read, update and delete
(API.md "Organizations and context"). Every role check goes through
``domain.organizations.access``; an id one cannot see, malformed or not, is a 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from db.repositories import memberships, organizations, sessions, users
from domain.accounts.emails import normalize_email
from domain.errors import EmailNotVerified, NotFound, ValidationFailed
from domain.names import AuditAction, RateLimit
from domain.organizations import access
from domain.organizations.creation import (
    OrganizationFields,
    check_name,
    check_timezone,
    create_organization,
)
from domain.records import MembershipRecord, OrganizationRecord
from domain.services import RequestInfo, Services

NOT_VERIFIED = "Verify your email address before creating an organization."


def parse_id(text: str, detail: str = access.NOT_FOUND) -> uuid.UUID:
    """The id in a path. raises NotFound (404, ``detail``) when it is not a UUID: a malformed
    id answers like an unknown one, so nothing tells ids apart."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(detail) from None


def check_contact_email(email: str | None) -> str | None:
    """The address trimmed, its domain lower-cased; None stays None.
    raises ValidationFailed (field ``contactEmail``)."""
    if email is None:
        return None
    try:
        return normalize_email(email)
    except ValidationFailed:
        raise ValidationFailed([("contactEmail", "must be a valid email address")]) from None


def _optional_text(value: str | None) -> str | None:
    """Blank text is no value."""
    return (value.strip() or None) if value is not None else None


async def create(svc: Services, user_id: uuid.UUID, fields: OrganizationFields,
                 info: RequestInfo) -> OrganizationRecord:
    """A new organization with the caller as its active owner (one transaction; audited
    ``organization.created`` and ``organization.member.added``). contact_email defaults to
    the caller's email, timezone to UTC. raises EmailNotVerified (403) for an account whose
    email is not verified, ValidationFailed (name, contactEmail, timezone)."""
    owner = await users.get_by_id(user_id)
    if owner is None or owner.email_verified_at is None:
        raise EmailNotVerified(NOT_VERIFIED)
    await svc.limit(RateLimit.ORGANIZATION_PER_ACCOUNT, str(user_id))
    fields = replace(fields, contact_email=check_contact_email(fields.contact_email),
                     legal_business_name=_optional_text(fields.legal_business_name),
                     dba_name=_optional_text(fields.dba_name))
    async with svc.unit_of_work(info) as uow:
        return await create_organization(uow, owner, fields)


async def list_mine(user_id: uuid.UUID) -> list[tuple[OrganizationRecord, MembershipRecord]]:
    """The caller's organizations with their membership (role, status; suspended ones
    included), in the order they joined."""
    return await organizations.of_user(user_id)


async def view(user_id: uuid.UUID, organization_text: str) -> OrganizationRecord:
    """The organization, for its active members. raises NotFound, AuthorizationDenied
    (suspended) as access.require_member."""
    organization_id = parse_id(organization_text)
    await access.require_member(organization_id, user_id)
    organization = await organizations.get(organization_id)
    if organization is None:  # deleted meanwhile
        raise NotFound(access.NOT_FOUND)
    return organization


def _checked(changes: dict[str, str | None]) -> dict[str, str | None]:
    """The changes with each rule applied: name not blank, contact_email an address,
    timezone an IANA zone; blank legal_business_name / dba_name remove the value.
    raises ValidationFailed (each field as the client names it)."""
    checks: dict[str, Callable[[Any], str | None]] = {
        "name": check_name, "contact_email": check_contact_email, "timezone": check_timezone,
        "legal_business_name": _optional_text, "dba_name": _optional_text}
    return {field: checks[field](value) for field, value in changes.items()}


async def update(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 changes: dict[str, str | None], info: RequestInfo) -> OrganizationRecord:
    """Change the fields given (keys of OrganizationFields; owner or admin). Audited
    ``organization.updated`` with the names of the fields that changed, if any.
    raises NotFound, AuthorizationDenied, Forbidden (a member), ValidationFailed."""
    organization_id = parse_id(organization_text)
    checked = _checked(changes)
    async with svc.unit_of_work(info) as uow:
        await access.require_manager(organization_id, actor_id)
        before = await organizations.get(organization_id)
        if before is None:
            raise NotFound(access.NOT_FOUND)
        changed = {k: v for k, v in checked.items() if getattr(before, k) != v}
        if changed:
            await organizations.update(organization_id, now=uow.now, **changed)
            uow.audit(AuditAction.ORGANIZATION_UPDATED, actor_id, actor_id=actor_id,
                      organization_id=organization_id, fields=sorted(changed))
    return await view(actor_id, organization_text)


async def delete(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 info: RequestInfo) -> None:
    """Delete the organization (owners only), in one transaction: every membership is
    uncounted from its member's ``organization_count`` and removed, every session's active
    context on it is cleared (the next refresh carries no ``ctx``), ``organization.deleted``
    is audited, and the row goes with its invitations, teams and team memberships.
    raises NotFound, AuthorizationDenied, Forbidden (an admin or member)."""
    organization_id = parse_id(organization_text)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id, for_delete=True)
        await access.require_owner(organization_id, actor_id)
        organization = await organizations.get(organization_id)
        removed = await memberships.remove_all(organization_id)
        await sessions.clear_context(organization_id=organization_id)
        uow.audit(AuditAction.ORGANIZATION_DELETED, actor_id, actor_id=actor_id,
                  organization_id=organization_id,
                  name=organization.name if organization else None, members=len(removed))
        await organizations.delete(organization_id)
