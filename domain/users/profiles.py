"""Reading a user's profile (self or admin) and the caller's own changes to it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from db.repositories import users
from domain.contacts_format import mask_phone, normalize_phone
from domain.errors import NotFound
from domain.names import AuditAction
from domain.records import PushDeviceRecord, UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.users.access import require_self_or_admin, target_of


@dataclass(frozen=True, slots=True)
class UserProfile:
    """An account and its push devices: what API.md Profile shows."""

    user: UserRecord
    devices: list[PushDeviceRecord] = field(default_factory=list)


async def profiles_of(found: Sequence[UserRecord]) -> list[UserProfile]:
    """Attach push devices to each account; one query for all of them, none when no
    account has a device (``push_device_count``)."""
    with_devices = [u.id for u in found if u.push_device_count > 0]
    devices = await users.devices_of(with_devices) if with_devices else {}
    return [UserProfile(u, devices.get(u.id, [])) for u in found]


async def profile_of(user_id: uuid.UUID) -> UserProfile:
    """The live account's profile. raises NotFound (unknown or erased)."""
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound("No such user.")
    return (await profiles_of([user]))[0]


async def view_user(claims: AccessClaims, ref: str) -> UserProfile:
    """GET /v1/users/{id}: ``ref`` is ``me`` or an id. The caller's own profile, or anyone's
    for an active admin. raises NotFound for everything else (another user's id to a
    non-admin, an unknown id, a malformed one)."""
    user_id = target_of(claims, ref)
    await require_self_or_admin(claims, user_id)
    return await profile_of(user_id)


def _clean_name(name: str | None) -> str | None:
    name = name.strip() if name is not None else None
    return name or None  # blank means "no name"


async def update_me(svc: Services, claims: AccessClaims, changes: dict[str, Any],
                    info: RequestInfo) -> UserProfile:
    """PATCH /v1/users/me. ``changes``: any of ``name`` (str, blank or None removes it) and
    ``phone_number`` (E.164 after normalisation; None removes it; a different number is
    unverified until verified again). Audited as USER_UPDATED with the changed fields and
    the new number masked. raises ValidationFailed (400 ``phoneNumber``), NotFound."""
    wanted: dict[str, Any] = {}
    if "name" in changes:
        wanted["name"] = _clean_name(changes["name"])
    if "phone_number" in changes:
        raw = changes["phone_number"]
        wanted["phone_number"] = normalize_phone(raw) if raw is not None else None
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_id(claims.user_id)
        if user is None:
            raise NotFound("No such user.")
        current = {"name": user.name, "phone_number": user.phone_number}
        changed = {k: v for k, v in wanted.items() if v != current[k]}
        if changed:
            await users.update_profile(user.id, now=uow.now, **changed)
            metadata: dict[str, Any] = {"fields": sorted(changed)}
            if changed.get("phone_number"):
                metadata["phoneNumber"] = mask_phone(changed["phone_number"])
            uow.audit(AuditAction.USER_UPDATED, user.id, **metadata)
    return await profile_of(claims.user_id)
