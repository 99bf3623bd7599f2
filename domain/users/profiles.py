"""Reading a user's profile (self or admin) and the caller's own changes to it.

A profile costs its user row, plus one query for push devices when ``push_device_count`` >
0, plus, when ``organization_count`` > 0, one for organizations and one for teams — for one
profile or a whole page of the admin's list alike, never one per organization or team."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from db.repositories import teams, users
from domain.contacts_format import mask_phone, normalize_phone
from domain.directory.errors import ManagedExternally
from domain.errors import NotFound, ValidationFailed
from domain.names import AuditAction, ContextType, MembershipStatus
from domain.records import (
    ActiveContext,
    MembershipRecord,
    OrganizationRecord,
    PushDeviceRecord,
    UserRecord,
    UserTeamRecord,
)
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.users.access import ME, require_self_or_admin, target_of

MAX_URL = 2048
ACTIVE = MembershipStatus.ACTIVE.value


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What API.md Profile shows: the account, its push devices, its organizations with
    the membership (any status), its active teams, and the active context of the caller's
    own access token (None for anyone else's profile, or when it no longer holds)."""

    user: UserRecord
    devices: list[PushDeviceRecord] = field(default_factory=list)
    organizations: list[tuple[OrganizationRecord, MembershipRecord]] = field(
        default_factory=list)
    teams: list[UserTeamRecord] = field(default_factory=list)
    active_context: ActiveContext | None = None


def _active_context(user: UserRecord, viewer: AccessClaims | None,
                    organizations: list[tuple[OrganizationRecord, MembershipRecord]]
                    ) -> ActiveContext | None:
    """The context of the viewer's access token when it is the user's own and still holds:
    an organization they are an active member of, or their own personal profile."""
    if viewer is None or viewer.user_id != user.id or viewer.context_id is None:
        return None
    ctx_id = viewer.context_id
    if viewer.context_type == ContextType.PERSONAL:
        return ActiveContext(ContextType.PERSONAL.value, ctx_id) \
            if ctx_id == user.personal_profile_id else None
    if viewer.context_type == ContextType.ORGANIZATION:
        for organization, membership in organizations:
            if organization.id == ctx_id and membership.status == ACTIVE:
                return ActiveContext(ContextType.ORGANIZATION.value, ctx_id, membership.role)
    return None


async def profiles_of(found: Sequence[UserRecord],
                      viewer: AccessClaims | None = None) -> list[UserProfile]:
    """The profiles of these accounts, in their order. At most three queries for all of
    them: push devices (only accounts with ``push_device_count`` > 0), organizations (only
    accounts with ``organization_count`` > 0) and teams (only accounts with an active
    membership). viewer: the caller's claims; their own profile shows their active
    context."""
    with_devices = [u.id for u in found if u.push_device_count > 0]
    in_organizations = [u.id for u in found if u.organization_count > 0]
    devices = await users.devices_of(with_devices) if with_devices else {}
    organizations = await users.organizations_of(in_organizations) if in_organizations else {}
    active = [user_id for user_id, held in organizations.items()
              if any(m.status == ACTIVE for _, m in held)]
    their_teams = await teams.of_users(active) if active else {}
    profiles = []
    for user in found:
        held = organizations.get(user.id, [])
        profiles.append(UserProfile(user, devices.get(user.id, []), held,
                                    their_teams.get(user.id, []),
                                    _active_context(user, viewer, held)))
    return profiles


async def pair_profile(user: UserRecord, context: ActiveContext | None) -> UserProfile:
    """The profile sent with a token pair (sign-in, refresh): ``user`` as the pair read it,
    with ``context``, the one its access token carries. No query for an account without
    devices or organizations, so a refresh costs what it did (scripts/bench)."""
    found = (await profiles_of([user]))[0]
    return replace(found, active_context=context)


async def profile_of(user_id: uuid.UUID, viewer: AccessClaims | None = None) -> UserProfile:
    """The live account's profile (see :func:`profiles_of`). raises NotFound (unknown or
    erased)."""
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound("No such user.")
    return (await profiles_of([user], viewer))[0]


async def view_user(claims: AccessClaims, ref: str) -> UserProfile:
    """GET /v1/users/{id} and GET /v1/auth/profile (``ref`` ``me``): ``ref`` is ``me`` or
    an id. The caller's own profile (with their active context), or anyone's for an active
    admin. raises NotFound for everything else (another user's id to a non-admin, an unknown
    id, a malformed one)."""
    user_id = target_of(claims, ref)
    await require_self_or_admin(claims, user_id)
    return await profile_of(user_id, claims)


async def own_profile(claims: AccessClaims) -> UserProfile:
    """The caller's profile (GET /v1/auth/profile). raises NotFound (erased meanwhile)."""
    return await view_user(claims, ME)


def _clean_name(name: str | None) -> str | None:
    name = name.strip() if name is not None else None
    return name or None  # blank means "no name"


def check_avatar_url(url: str | None) -> str | None:
    """An https URL with a host and no credentials, at most 2048 characters; None removes
    the picture. raises ValidationFailed (``avatarUrl``)."""
    if url is None:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = (parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc
                 and len(url) <= MAX_URL and not any(c.isspace() for c in url))
    except ValueError:  # a malformed port or IPv6 literal
        valid = False
    if not valid:
        raise ValidationFailed([("avatarUrl", f"must be an https URL of at most {MAX_URL} "
                                              "characters, or null")])
    return url


# Profile fields an organization's SCIM directory owns, by their API names (issue 14); the
# nickname, avatar, preferences, devices and two-factor stay the person's own
API_NAMES = {"name": "name", "email": "email", "phone_number": "phoneNumber"}


def _wanted(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes asked for, cleaned: names trimmed (blank removes), the phone number
    normalised, the avatar URL checked. raises ValidationFailed."""
    wanted: dict[str, Any] = {}
    for name in ("name", "nickname"):
        if name in changes:
            wanted[name] = _clean_name(changes[name])
    if "phone_number" in changes:
        raw = changes["phone_number"]
        wanted["phone_number"] = normalize_phone(raw) if raw is not None else None
    if "avatar_url" in changes:
        wanted["avatar_url"] = check_avatar_url(changes["avatar_url"])
    return wanted


async def update_me(svc: Services, claims: AccessClaims, changes: dict[str, Any],
                    info: RequestInfo) -> UserProfile:
    """PATCH /v1/users/me. ``changes``: any of ``name`` and ``nickname`` (str; blank or None
    removes it), ``phone_number`` (E.164 after normalisation; None removes it; a different
    number is unverified until verified again), ``avatar_url`` (https, at most 2048
    characters; None removes it). A nickname given to an account without a personal profile
    creates one (``personal_profile_id``): the nickname is the personal profile's. Audited as
    USER_UPDATED with the changed fields and the new number masked. raises ValidationFailed
    (400 ``phoneNumber``, ``avatarUrl``), NotFound, ManagedExternally (409: name or phone of
    an account the organization's directory owns, when it would change)."""
    wanted = _wanted(changes)
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_id(claims.user_id)
        if user is None:
            raise NotFound("No such user.")
        current = {"name": user.name, "nickname": user.nickname,
                   "phone_number": user.phone_number, "avatar_url": user.avatar_url}
        changed = {k: v for k, v in wanted.items() if v != current[k]}
        if user.managed_by_organization_id is not None and (
                managed := [API_NAMES[k] for k in sorted(changed) if k in API_NAMES]):
            raise ManagedExternally(managed)  # issue 14: the directory owns them
        if changed.get("nickname") and user.personal_profile_id is None:
            changed["personal_profile_id"] = uuid.uuid4()
        if changed:
            await users.update_profile(user.id, now=uow.now, **changed)
            metadata: dict[str, Any] = {"fields": sorted(changed)}
            if changed.get("phone_number"):
                metadata["phoneNumber"] = mask_phone(changed["phone_number"])
            uow.audit(AuditAction.USER_UPDATED, user.id, **metadata)
    return await profile_of(claims.user_id, claims)
