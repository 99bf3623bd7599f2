"""SCIM provisioning of an organization's people (RFC 7643 §4.1 User, RFC 7644 §3): create,
read and list the organization's members as its identity provider's directory sees them
(changes: profile_updates.py; deactivation and deletion: deprovisioning.py).
Framework-free: the HTTP layer (api/scim/users.py) maps SCIM resources to
:class:`DirectoryProfile` and back.

Every member of the organization is a SCIM User (people who joined by invitation too). A
created person gets a personal account with an unverified email and no usable password (they
sign in with single sign-on or a magic link); an existing account is adopted only when it is
already an active member of this organization that no directory provisioned. The directory
then owns the profile's name, email (only of accounts it created) and phone: they are
read-only in latchkey (Profile ``managedBy``), and a changed email or phone is unverified
until the person verifies it again (issue 14). Every change is one unit of work, audited
with the SCIM token as actor.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from db.engine import is_unique_violation
from db.repositories import memberships, organizations, scim_users, users
from db.repositories.scim_users import ScimMember
from domain.accounts.emails import normalize_email
from domain.contacts import preferences
from domain.contacts_format import normalize_phone
from domain.directory import deprovisioning as dep
from domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from domain.names import AuditAction, OrganizationRole
from domain.organizations.organizations import parse_id
from domain.records import ScimTokenRecord
from domain.services import RequestInfo, Services
from domain.tokens import new_opaque_token

MAX_ID = 255  # memberships.scim_user_name / scim_external_id
MAX_NAME = 100  # users.name


class DirectoryConflict(Conflict):
    """409 ``uniqueness`` (RFC 7644 §3.12): a userName, externalId or email in use."""

    code = "scim_uniqueness"
    scim_type = "uniqueness"


class ReadOnlyAttribute(DomainError):
    """400 ``mutability`` (RFC 7644 §3.12): the directory may not change this attribute."""

    code = "scim_mutability"
    scim_type = "mutability"


@dataclass(frozen=True, slots=True)
class DirectoryProfile:
    """What the directory says about a person (a SCIM User, mapped by the HTTP layer).

    user_name: ``userName`` (required); email: the chosen address (None: ``userName`` when
    it is an address); name: the display name; phone: as sent (normalized to E.164 here);
    active: None leaves it as it is; attributes: the rest of the resource as sent (kept and
    served back as stored)."""

    user_name: str
    external_id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    active: bool | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def checked(profile: DirectoryProfile) -> tuple[DirectoryProfile, str]:
    """(profile with a normalized phone and blanks as None, its email). raises
    ValidationFailed (400 invalidValue) naming the SCIM attribute."""
    user_name = profile.user_name.strip()
    if not user_name or len(user_name) > MAX_ID:
        raise ValidationFailed([("userName", f"is required, at most {MAX_ID} characters")])
    if profile.external_id is not None and len(profile.external_id) > MAX_ID:
        raise ValidationFailed([("externalId", f"must be at most {MAX_ID} characters")])
    name = (profile.name or "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        raise ValidationFailed([("displayName", f"must be at most {MAX_NAME} characters")])
    phone = (profile.phone or "").strip() or None
    raw_email = profile.email or (user_name if "@" in user_name else None)
    if raw_email is None:
        raise ValidationFailed([("emails", "an email address is required (emails, or a "
                                           "userName that is an email address)")])
    try:
        email = normalize_email(raw_email)
    except ValidationFailed:
        raise ValidationFailed([("emails", "must be a valid email address")]) from None
    phone = normalize_phone(phone) if phone else None
    return DirectoryProfile(user_name, profile.external_id or None, email, name, phone,
                            profile.active, profile.attributes), email


async def refuse_taken(organization_id: uuid.UUID, profile: DirectoryProfile,
                        user_id: uuid.UUID | None) -> None:
    """raises DirectoryConflict when another member has the userName or externalId."""
    holder = await scim_users.holder_of(organization_id, user_name=profile.user_name)
    if holder not in (None, user_id):
        raise DirectoryConflict("userName is already used by another user of this organization.")
    if profile.external_id is not None:
        holder = await scim_users.holder_of(organization_id, external_id=profile.external_id)
        if holder not in (None, user_id):
            raise DirectoryConflict("externalId is already used by another user of this "
                                    "organization.")


async def create_user(svc: Services, token: ScimTokenRecord, profile: DirectoryProfile,
                      info: RequestInfo) -> ScimMember:
    """SCIM ``POST /Users`` (RFC 7644 §3.3). A new account: personal, role DEFAULT_ROLE, the
    default notification preference, email unverified, an unusable password (bcrypt of a
    random 256-bit secret thrown away), ``created_by_scim``, managed by the organization,
    member with role ``member``. An account with that email that is an active member of
    this organization, not provisioned yet and managed by no other directory is adopted
    (``created_by_scim`` stays false). Audited SCIM_USER_CREATED (``adopted``).
    raises ValidationFailed (400), DirectoryConflict (409: userName/externalId used, or the
    email is another account's that may not be adopted), Overloaded."""
    profile, email = checked(profile)
    organization_id = token.organization_id
    existing = await users.get_by_email(email)
    password_hash = None if existing else await svc.hasher.hash(new_opaque_token())
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            user = await users.get_by_email(email)
            await refuse_taken(organization_id, profile, user.id if user else None)
            created = user is None
            if user is None:
                if password_hash is None:  # erased meanwhile: ask again
                    raise DirectoryConflict("The account changed meanwhile; send it again.")
                user = await users.insert(email=email, password_hash=password_hash,
                                          name=profile.name, now=uow.now,
                                          roles=[svc.settings.default_role])
                await preferences.start(user.id)
                await memberships.add(organization_id=organization_id, user_id=user.id,
                                      role=OrganizationRole.MEMBER.value, now=uow.now)
            member = await scim_users.get(organization_id, user.id, for_update=True)
            if not created:
                _refuse_takeover(member, organization_id)
            assert member is not None
            await scim_users.set_management(user.id, organization_id=organization_id,
                                            created_by_scim=created, now=uow.now)
            await write_profile(uow.now, member, profile, email_change=False)
            if profile.active is False:
                member = await scim_users.get(organization_id, user.id)
                assert member is not None
                await dep.set_active(uow, token, member, False)
            uow.audit(AuditAction.SCIM_USER_CREATED, user.id, **dep.audit_as(token),
                      adopted=not created)
    except Exception as exc:
        if is_unique_violation(exc):
            raise DirectoryConflict("userName, externalId or email is already used.") from exc
        raise
    return await get_user(token, str(user.id))


def _refuse_takeover(member: ScimMember | None, organization_id: uuid.UUID) -> None:
    """A directory never takes over an account that is not already its organization's
    active, unprovisioned member (issue 14). raises DirectoryConflict."""
    if (member is None or not dep.is_active(member) or member.scim_user_name is not None
            or member.managed_by_organization_id not in (None, organization_id)):
        raise DirectoryConflict(
            "An account with this email address already exists and cannot be provisioned: "
            "only an active member of this organization whom no directory provisioned yet "
            "is adopted. Invite the person to the organization first.")


async def write_profile(now: Any, member: ScimMember, profile: DirectoryProfile, *,
                         email_change: bool) -> list[str]:
    """Write what changed; returns the SCIM attribute names changed (for the audit)."""
    changed: list[str] = []
    fields: dict[str, Any] = {}
    if profile.name != member.name:
        fields["name"] = profile.name
        changed.append("name")
    if profile.phone != member.phone_number:
        fields["phone_number"] = profile.phone  # a new number is unverified (users repo)
        changed.append("phoneNumbers")
    if fields:
        await users.update_profile(member.user_id, now=now, **fields)
    if email_change:
        await scim_users.set_email(member.user_id, profile.email or member.email, now)
        changed.append("emails")
    ids = (profile.user_name, profile.external_id, profile.attributes)
    if ids != (member.scim_user_name, member.scim_external_id, member.scim_attributes):
        await scim_users.set_directory_fields(
            member.membership_id, user_name=profile.user_name, external_id=profile.external_id,
            attributes=profile.attributes, now=now)
        changed += [n for n, new, old in (
            ("userName", profile.user_name, member.scim_user_name),
            ("externalId", profile.external_id, member.scim_external_id),
            ("attributes", profile.attributes, member.scim_attributes)) if new != old]
    return changed


async def get_user(token: ScimTokenRecord, user_text: str) -> ScimMember:
    """The organization's member ``user_text`` (a user id). raises NotFound (404: unknown,
    malformed, or another organization's user)."""
    found = await scim_users.get(token.organization_id, parse_id(user_text, dep.NO_USER))
    if found is None:
        raise NotFound(dep.NO_USER)
    return found


async def list_users(token: ScimTokenRecord, condition: tuple[str, Sequence[Any]] | None, *,
                     start_index: int, count: int) -> tuple[list[ScimMember], int]:
    """(one page of the organization's members, how many match): RFC 7644 §3.4.2.4
    paging, ``start_index`` 1-based, ``count`` 0..200, in the order they joined then by id.
    condition: the filter as SQL (api/scim/filters.py), or None for everyone."""
    return await scim_users.page(token.organization_id, condition, offset=start_index - 1,
                                 limit=count)
