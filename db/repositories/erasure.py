"""Erasing an account: every row of personal data of one user, across the tables, in the
caller's transaction; the users row stays as a pseudonymous tombstone so the audit trail
keeps pointing at an id (GDPR art. 17 erasure; art. 4(5) pseudonymisation)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.tables import (
    AuditEvent,
    BackupCode,
    IdentityLink,
    Invitation,
    Membership,
    NotificationPreference,
    OneTimeToken,
    OtpCode,
    OutboxMessage,
    PushDevice,
    RefreshToken,
    Session,
    SsoLogin,
    TeamMembership,
    TotpCredential,
    TwoFactorChallenge,
    User,
)

# What an erased account keeps: nothing that names, reaches or authenticates a person.
UNUSABLE_HASH = "!"  # no password verifies against it (and the tombstone is never looked up)


def tombstone_email(user_id: uuid.UUID) -> str:
    """The address an erased account keeps: unique, and in the reserved .invalid TLD
    (RFC 2606 §2), so it can never receive mail or collide with a real one."""
    return f"deleted-{user_id}@deleted.invalid"


async def live_session_ids(user_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    """Sessions of the user that are neither revoked nor expired (to deny-list them)."""
    rows = await Session.select(Session.id).where(
        (Session.user_id == user_id) & Session.revoked_at.is_null() & (Session.expires_at > now))
    return [row["id"] for row in rows]


async def delete_pending_sign_ins(user_id: uuid.UUID) -> None:
    """Delete the user's unused one-time tokens (links, pairing tokens) and unanswered
    two-factor challenges: nothing pending can open a session any more. Call inside a
    transaction."""
    await OneTimeToken.delete().where(
        (OneTimeToken.user_id == user_id) & OneTimeToken.used_at.is_null())
    await TwoFactorChallenge.delete().where(
        (TwoFactorChallenge.user_id == user_id) & TwoFactorChallenge.used_at.is_null())


async def erase_rows(user_id: uuid.UUID, now: datetime) -> None:
    """Delete every row that belongs to the user (sessions and their refresh tokens,
    one-time tokens, OTP codes, TOTP credentials, backup codes, two-factor challenges, push
    devices, notification preferences, outbox messages whatever their status, memberships of
    organizations and teams, identity links and single sign-on attempts: an erased person's
    (issuer, sub) is forgotten and links again if the directory provisions them anew) and
    turn the
    users row into a tombstone. Audit events stay (see :func:`audit_events_of`). Call inside
    a transaction."""
    sessions = Session.select(Session.id).where(Session.user_id == user_id)
    await RefreshToken.delete().where(RefreshToken.session_id.is_in(sessions))
    for table in (Session, OneTimeToken, OtpCode, TotpCredential, BackupCode,
                  TwoFactorChallenge, PushDevice, NotificationPreference, OutboxMessage,
                  TeamMembership, Membership, IdentityLink, SsoLogin):
        await table.delete().where(table.user_id == user_id)  # type: ignore[attr-defined]
    address = tombstone_email(user_id)
    await User.update({
        User.email: address, User.email_lower: address, User.name: None,
        User.phone_number: None, User.phone_verified_at: None, User.email_verified_at: None,
        User.password_hash: UNUSABLE_HASH, User.is_active: False, User.deleted_at: now,
        User.roles: [], User.mobile_enabled: False, User.totp_enabled_at: None,
        User.sms_two_factor_phone: None, User.backup_codes_remaining: 0,
        User.push_device_count: 0, User.updated_at: now, User.organization_count: 0,
        User.nickname: None, User.avatar_url: None, User.personal_profile_id: None,
    }).where(User.id == user_id)


async def erase_invitations(user_id: uuid.UUID, email: str) -> list[uuid.UUID]:
    """Invitations to the person's address or accepted by them: their address becomes the
    tombstone's, and the invitation emails' outbox rows go; returns the invitation ids (their
    audit events name the address too). Call inside a transaction, before erase_rows."""
    address = tombstone_email(user_id)
    rows = await Invitation.update({Invitation.email: address, Invitation.email_lower: address}
                                   ).where((Invitation.email_lower == email.lower())
                                           | (Invitation.accepted_by == user_id)
                                           ).returning(Invitation.id)
    # an invitation may have been addressed in another letter case than the account's email
    await OutboxMessage.raw("DELETE FROM outbox_messages WHERE user_id IS NULL "
                            "AND lower(recipient) = {}", email.lower())
    return [row["id"] for row in rows]


async def audit_events_of(user_id: uuid.UUID, invitation_ids: Sequence[uuid.UUID] = ()
                          ) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """(id, metadata) of every audit event about the user, and of the events about the
    invitations ``invitation_ids`` (which have no user: the invitee may have had no account)."""
    where = AuditEvent.user_id == user_id
    if invitation_ids:
        where |= AuditEvent.user_id.is_null() & AuditEvent.action.like("organization.invitation.%")
    rows = await AuditEvent.select(AuditEvent.id, AuditEvent.user_id, AuditEvent.metadata
                                   ).where(where)
    wanted = {str(i) for i in invitation_ids}
    found = []
    for row in rows:
        metadata = (json.loads(row["metadata"]) if isinstance(row["metadata"], str)
                    else row["metadata"])
        if row["user_id"] == user_id or metadata.get("invitation_id") in wanted:
            found.append((row["id"], metadata))
    return found


async def pseudonymise_audit(user_id: uuid.UUID,
                             metadata: dict[uuid.UUID, dict[str, Any]]) -> None:
    """Drop the IP address and user agent of every audit event about the user, and replace
    the metadata of the events in ``metadata`` (id -> cleaned metadata). Call inside a
    transaction."""
    await AuditEvent.update({AuditEvent.ip_address: None, AuditEvent.user_agent: None}).where(
        AuditEvent.user_id == user_id)
    for event_id, cleaned in metadata.items():
        await AuditEvent.update({AuditEvent.metadata: cleaned}).where(AuditEvent.id == event_id)
