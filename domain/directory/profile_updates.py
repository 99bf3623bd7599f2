"""SCIM ``PUT`` and ``PATCH /Users/{id}`` (RFC 7644 §3.5): the directory changes a member.

Name and phone are the directory's to write once it manages the profile (a new phone is
unverified); the email only of an account it created (unverified until the person verifies
it again); ``active`` per domain/directory/deprovisioning.py. The first write to a member
the directory did not create adopts them, as a POST would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from db.engine import is_unique_violation
from db.repositories import organizations, scim_users, users
from db.repositories.scim_users import ScimMember
from domain.directory import deprovisioning as dep
from domain.directory.provisioning import (
    DirectoryConflict,
    DirectoryProfile,
    ReadOnlyAttribute,
    checked,
    get_user,
    refuse_taken,
    write_profile,
)
from domain.errors import EmailTaken, NotFound
from domain.names import AuditAction
from domain.organizations.organizations import parse_id
from domain.records import ScimTokenRecord
from domain.services import RequestInfo, Services


async def update_user(svc: Services, token: ScimTokenRecord, user_text: str,
                      change: Callable[[ScimMember], DirectoryProfile],
                      info: RequestInfo) -> ScimMember:
    """SCIM ``PUT``/``PATCH /Users/{id}`` (RFC 7644 §3.5): ``change`` gets the member as
    stored, inside the transaction with the organization locked, and returns the profile to
    store (it checks If-Match and applies a PATCH; whatever it raises rolls back). Name and
    phone are written (a new phone unverified); the email of an account this directory
    created is written unverified, another account's cannot change; ``active`` per
    deprovisioning.set_active. Audited SCIM_USER_UPDATED (``fields``).
    raises NotFound, ValidationFailed, DirectoryConflict (409), ReadOnlyAttribute (400
    mutability), EmailTaken (409), LastOwner (409)."""
    organization_id = token.organization_id
    user_id = parse_id(user_text, dep.NO_USER)
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            member = await scim_users.get(organization_id, user_id, for_update=True)
            if member is None:
                raise NotFound(dep.NO_USER)
            profile, email = checked(change(member))
            await refuse_taken(organization_id, profile, user_id)
            email_change = email.lower() != member.email.lower()
            if email_change:
                await _check_email_change(member, organization_id, email)
            await _take_charge(uow.now, member, profile, organization_id)
            changed = await write_profile(uow.now, member, profile, email_change=email_change)
            if changed:
                uow.audit(AuditAction.SCIM_USER_UPDATED, user_id, **dep.audit_as(token),
                          fields=changed)
            if profile.active is not None:
                await dep.set_active(uow, token, member, profile.active)
    except Exception as exc:
        if is_unique_violation(exc):
            raise DirectoryConflict("userName, externalId or email is already used.") from exc
        raise
    return await get_user(token, str(user_id))


async def _take_charge(now: Any, member: ScimMember, profile: DirectoryProfile,
                       organization_id: uuid.UUID) -> None:
    """The directory's first write to a member it did not create adopts them (Okta links an
    existing member by a ``userName eq`` lookup then a PUT, not a POST): it manages their
    profile from then on. A profile another organization's directory manages stays that
    one's. raises ReadOnlyAttribute (400 mutability)."""
    if member.managed_by_organization_id == organization_id:
        return
    if member.managed_by_organization_id is not None:
        if (profile.name, profile.phone) != (member.name, member.phone_number):
            raise ReadOnlyAttribute("This person's name and phone are managed by another "
                                    "organization's directory.")
        return
    await scim_users.set_management(member.user_id, organization_id=organization_id,
                                    created_by_scim=False, now=now)


async def _check_email_change(member: ScimMember, organization_id: uuid.UUID,
                              email: str) -> None:
    if not dep.created_by_directory(member, organization_id):
        raise ReadOnlyAttribute(
            "This person's account was not created by your directory: its email address "
            "belongs to the person, who changes (and verifies) it in their own profile. Keep "
            "the primary email at the account's current address; name and phone can change.")
    if await users.email_exists(email):
        raise EmailTaken("Another account already uses this email address.")
