"""What an admin does to accounts: list them, change a role, deactivate and reactivate.

Every write re-reads the admins inside its transaction (row-locked on PostgreSQL), so the
caller is still an active admin when the change commits and two admins demoting or
deactivating each other at once cannot leave the service without one. Every write is
audited with the admin as ``actor_id`` and the account changed as ``user_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db.repositories import erasure, users
from domain.errors import Forbidden, LastAdmin, NotFound, ValidationFailed
from domain.messages import kinds
from domain.names import AuditAction, RevokeReason, Role
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.management import end_all
from domain.tokens import AccessClaims
from domain.users.profiles import UserProfile, profile_of, profiles_of

ADMINISTRATOR = RequestInfo()  # alerts name no admin's IP or browser to the account's owner


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of the admin's list; total: how many accounts match the filters in all."""

    users: list[UserProfile]
    total: int


def check_role(svc: Services, role: str, field: str = "role") -> str:
    """``role`` when it is one of the configured global roles (``ROLES``, default
    ``admin,user``). raises ValidationFailed naming the allowed values."""
    allowed = svc.settings.allowed_roles
    if role not in allowed:
        raise ValidationFailed([(field, "must be one of " + ", ".join(allowed))])
    return role


async def list_users(svc: Services, viewer: AccessClaims, *, role: str | None = None,
                     team_id: uuid.UUID | None = None, include_inactive: bool = False,
                     is_active: bool | None = None, q: str | None = None, limit: int = 50,
                     offset: int = 0) -> UserPage:
    """Live accounts matching every filter given, ordered by name (case-insensitive, nameless
    last) then email. role: one of ``ROLES``; team_id: members of that team; inactive
    accounts only with ``include_inactive`` (``is_active``, when given, decides instead); q:
    part of the email or name, case-insensitive (``%`` and ``_`` match themselves); limit:
    1..100; offset: accounts to skip. Erased accounts never appear. The page's profiles cost
    at most three queries in all (domain.users.profiles). raises ValidationFailed (role)."""
    if role is not None:
        check_role(svc, role)
    if is_active is None and not include_inactive:
        is_active = True
    found, total = await users.search(role=role, is_active=is_active, q=(q or "").strip(),
                                      team_id=team_id, limit=limit, offset=offset)
    return UserPage(await profiles_of(found, viewer), total)


async def _admins_acting_as(actor_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The active admins, locked for this transaction; raises Forbidden when ``actor_id``
    (None: an operator's command) is no longer one of them."""
    admins = await users.lock_active_admins()
    if actor_id is not None and actor_id not in admins:
        raise Forbidden("This needs the admin role.")
    return admins


def _refuse_last_admin(target: UserRecord, admins: list[uuid.UUID]) -> None:
    if target.id in admins and len(admins) == 1:
        raise LastAdmin()


async def _target(user_id: uuid.UUID) -> UserRecord:
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def change_role(svc: Services, *, actor_id: uuid.UUID, user_id: uuid.UUID, role: str,
                      info: RequestInfo) -> UserProfile:
    """Give the account the global role ``role``, one of ``ROLES`` (its roles become
    ``[role]``; the access token's ``roles`` claim follows at the next sign-in or refresh).
    Audited USER_ROLE_CHANGED (role, previous roles) when it changes anything.
    raises ValidationFailed (400: not one of ROLES), NotFound, Forbidden (the caller lost
    the admin role meanwhile), LastAdmin (409: demoting the last active admin, the caller
    included)."""
    check_role(svc, role)
    async with svc.unit_of_work(info) as uow:
        admins = await _admins_acting_as(actor_id)
        target = await _target(user_id)
        if role != Role.ADMIN:
            _refuse_last_admin(target, admins)
        if target.roles != [role]:
            await users.update_profile(target.id, now=uow.now, roles=[role])
            uow.audit(AuditAction.USER_ROLE_CHANGED, target.id, actor_id=actor_id, role=role,
                      previous=list(target.roles))
    return await profile_of(user_id)


async def set_active(svc: Services, *, actor_id: uuid.UUID, user_id: uuid.UUID,
                     is_active: bool, info: RequestInfo) -> UserProfile:
    """Deactivate or reactivate an account; asking for the current state changes nothing.

    Deactivating ends every session at once (revoked, and deny-listed after commit: access
    tokens fail on the next request, refresh tokens at once), deletes what could still open
    one (unused links and pairing tokens, unanswered two-factor challenges), audits
    USER_DEACTIVATED and queues ACCOUNT_DEACTIVATED_ALERT. From then on sign-in answers as
    for a wrong password. Reactivating audits USER_REACTIVATED; the person signs in again.
    raises NotFound, Forbidden, LastAdmin (409: the last active admin)."""
    async with svc.unit_of_work(info) as uow:
        admins = await _admins_acting_as(actor_id)
        target = await _target(user_id)
        if target.is_active != is_active:
            await users.update_profile(target.id, now=uow.now, is_active=is_active)
            if is_active:
                uow.audit(AuditAction.USER_REACTIVATED, target.id, actor_id=actor_id)
            else:
                _refuse_last_admin(target, admins)
                await end_all(uow, target.id, reason=RevokeReason.DEACTIVATED)
                await erasure.delete_pending_sign_ins(target.id)
                uow.audit(AuditAction.USER_DEACTIVATED, target.id, actor_id=actor_id)
                uow.alert(kinds.ACCOUNT_DEACTIVATED_ALERT, user=target, device=ADMINISTRATOR,
                          device_name="an administrator")
    return await profile_of(user_id)
