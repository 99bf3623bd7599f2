"""Deleting an account: its personal data is erased and the audit trail is pseudonymised
(GDPR art. 17 and art. 4(5)), in one transaction; the address can register again."""

from __future__ import annotations

import re
import uuid
from typing import Any

from db.repositories import erasure, memberships, organizations, users
from domain.errors import Forbidden, LastAdmin, LastOwner, NotFound, ValidationFailed
from domain.names import AuditAction
from domain.passwords.reauthentication import reauthenticate
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.users.access import is_admin, target_of

# Metadata keys that can hold contact details, names or network data (the values are masked
# where they are written, but even a masked address is personal data once the account is gone)
PERSONAL_KEYS = frozenset({
    "email", "phone", "phone_number", "phoneNumber", "value", "recipient", "target", "to",
    "name", "device", "device_name", "deviceName", "ip", "ip_address", "user_agent"})
PHONE_LIKE = re.compile(r"^\+?[\d*][\d*\s().-]{5,}$")


def _personal(key: str, value: Any) -> bool:
    if key in PERSONAL_KEYS:
        return True
    return isinstance(value, str) and ("@" in value or bool(PHONE_LIKE.match(value.strip())))


def scrub_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` without anything that could name or reach the person: keys of
    PERSONAL_KEYS and any string that looks like an email address or a phone number, also
    in nested dicts and lists."""
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if not _personal(k, v)}
        if isinstance(value, list):
            return [clean(v) for v in value if not _personal("", v)]
        return value

    return clean(metadata)


async def delete_user(svc: Services, claims: AccessClaims, ref: str, *, password: str | None,
                      info: RequestInfo) -> None:
    """DELETE /v1/users/{id}: ``ref`` is ``me``, the caller's id (then ``password`` must be
    their current one, checked by reauthenticate) or, for an admin, anyone's id.

    In one transaction: every session, refresh token, one-time token, OTP code, TOTP
    credential, backup code, challenge, push device, notification preference and outbox
    message of the account is deleted; the users row becomes a tombstone (email
    ``deleted-<id>@deleted.invalid``, no name, phone or usable password, inactive, no
    roles, ``deleted_at`` set); the account's audit events lose their IP address, user
    agent and any contact detail in their metadata; USER_DELETED is audited with the
    actor. The sessions are deny-listed after commit. A self-deletion records no network
    data of its person; an admin's records the admin's.
    raises NotFound (another account to a non-admin, unknown ids), ValidationFailed (400
    ``password`` missing or wrong), RateLimited, Overloaded, Forbidden, LastAdmin (409),
    LastOwner (409: the only active owner of an organization; memberships of others go).
    """
    user_id = target_of(claims, ref)
    by_self = user_id == claims.user_id
    if by_self:
        if password is None:
            raise ValidationFailed([("password", "is required to delete your own account")])
        await reauthenticate(svc, claims, password, info=info)
        info = RequestInfo()
    elif not is_admin(await users.get_by_id(claims.user_id)):
        raise NotFound("No such user.")
    async with svc.unit_of_work(info) as uow:
        admins = await users.lock_active_admins()
        if not by_self and claims.user_id not in admins:
            raise Forbidden("This needs the admin role.")
        target = await users.get_by_id(user_id)
        if target is None:
            raise NotFound("No such user.")
        if target.id in admins and len(admins) == 1:
            raise LastAdmin()
        await _keep_an_owner(target.id)
        live = await erasure.live_session_ids(target.id, uow.now)
        invitations = await erasure.erase_invitations(target.id, target.email)
        events = await erasure.audit_events_of(target.id, invitations)
        await erasure.erase_rows(target.id, uow.now)
        await erasure.pseudonymise_audit(target.id, {
            event_id: cleaned for event_id, metadata in events
            if (cleaned := scrub_metadata(metadata)) != metadata})
        uow.audit(AuditAction.USER_DELETED, target.id, actor_id=claims.user_id)
        uow.end_sessions(live)


async def _keep_an_owner(user_id: uuid.UUID) -> None:
    """raises LastOwner when the user is the only active owner of an organization. Locks each
    organization they own (as every member change does, domain/organizations/members.py) and
    then reads its owners, so two owners deleting their accounts at once cannot both go."""
    for organization_id in await memberships.owned_by(user_id):
        await organizations.lock(organization_id)
        if await memberships.active_owners(organization_id) == [user_id]:
            raise LastOwner("The account is the last owner of an organization: make someone "
                            "else an owner, or delete the organization, first.")
