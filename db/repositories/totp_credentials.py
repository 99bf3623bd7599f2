"""TOTP credentials (Fernet ciphertexts only, never a seed) and the two-factor switches on the
user row (``users.totp_enabled_at``, ``users.sms_two_factor_phone``) that turning a method on
or off changes together with the credential."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from db.tables import TotpCredential, User


@dataclass(frozen=True, slots=True)
class TotpCredentialRow:
    """A user's TOTP credential. secret / pending_secret: Fernet ciphertexts (None when absent);
    last_step: the RFC 6238 time step last accepted (0 before any)."""

    secret: str | None = field(repr=False)
    pending_secret: str | None = field(repr=False)
    last_step: int


async def get(user_id: uuid.UUID) -> TotpCredentialRow | None:
    row = await TotpCredential.select(
        TotpCredential.secret_encrypted, TotpCredential.pending_secret_encrypted,
        TotpCredential.last_step).where(TotpCredential.user_id == user_id).first()
    if row is None:
        return None
    return TotpCredentialRow(secret=row["secret_encrypted"],
                             pending_secret=row["pending_secret_encrypted"],
                             last_step=row["last_step"])


async def set_pending(user_id: uuid.UUID, pending_secret: str, now: datetime) -> None:
    """Store ``pending_secret`` (a ciphertext) as the user's enrolment awaiting verification,
    replacing any earlier pending one; the active secret, if any, is kept. One upsert
    (``INSERT … ON CONFLICT (user_id) DO UPDATE``), so two parallel enrolments cannot both
    insert, on PostgreSQL and SQLite."""
    await TotpCredential.insert(TotpCredential(
        id=uuid.uuid4(), user_id=user_id, pending_secret_encrypted=pending_secret,
        created_at=now, updated_at=now,
    )).on_conflict(target=TotpCredential.user_id, action="DO UPDATE",
                   values=[TotpCredential.pending_secret_encrypted, TotpCredential.updated_at])


async def activate(user_id: uuid.UUID, *, pending_secret: str, step: int, now: datetime
                   ) -> bool:
    """Make ``pending_secret`` the active secret, with ``step`` (the step of the code that
    proved it) as the last accepted one, and set ``users.totp_enabled_at``. Conditional on the
    pending ciphertext still being ``pending_secret``: False (nothing changed) when a parallel
    enrolment replaced it or a parallel verification used it. Call inside a transaction."""
    rows = await TotpCredential.update({
        TotpCredential.secret_encrypted: pending_secret,
        TotpCredential.pending_secret_encrypted: None,
        TotpCredential.last_step: step,
        TotpCredential.updated_at: now,
    }).where((TotpCredential.user_id == user_id)
             & (TotpCredential.pending_secret_encrypted == pending_secret)
             ).returning(TotpCredential.id)
    if not rows:
        return False
    await User.update({User.totp_enabled_at: now, User.updated_at: now}).where(User.id == user_id)
    return True


async def accept_step(user_id: uuid.UUID, step: int) -> bool:
    """Record ``step`` as used if it is newer than the last accepted one: one conditional
    ``UPDATE … WHERE last_step < :step``, so of two parallel submissions of one code exactly
    one gets True (RFC 6238 §5.2: a code is accepted at most once)."""
    rows = await TotpCredential.update({TotpCredential.last_step: step}).where(
        (TotpCredential.user_id == user_id) & (TotpCredential.last_step < step)
        & TotpCredential.secret_encrypted.is_not_null()
    ).returning(TotpCredential.id)
    return bool(rows)


async def turn_off(user_id: uuid.UUID, method: str, now: datetime) -> tuple[bool, bool] | None:
    """Turn two-factor ``method`` ("totp": delete the credential and clear
    ``totp_enabled_at``; "sms": clear ``sms_two_factor_phone``) off with one conditional
    UPDATE of the user row. Returns (totp on, sms on) as they are afterwards, or None when the
    method was not on (nothing changed). Call inside a transaction."""
    column = User.totp_enabled_at if method == "totp" else User.sms_two_factor_phone
    rows = await User.update({column: None, User.updated_at: now}).where(
        (User.id == user_id) & column.is_not_null()
    ).returning(User.totp_enabled_at, User.sms_two_factor_phone)
    if not rows:
        return None
    if method == "totp":
        await TotpCredential.delete().where(TotpCredential.user_id == user_id)
    return rows[0]["totp_enabled_at"] is not None, rows[0]["sms_two_factor_phone"] is not None
