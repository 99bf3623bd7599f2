"""A user's contact columns: email (with email_lower) and phone, their verification times,
and the push device count kept beside them."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import User


async def lock_user(user_id: uuid.UUID, now: datetime) -> bool:
    """Take the user's row lock for the rest of the transaction (an UPDATE of updated_at:
    PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serializes writers). False when
    the user does not exist."""
    rows = await User.update({User.updated_at: now}).where(User.id == user_id).returning(User.id)
    return bool(rows)


async def email_taken_by_other(email: str, user_id: uuid.UUID) -> bool:
    """True when another account has this address (compared lower-cased)."""
    return await User.exists().where((User.email_lower == email.lower()) & (User.id != user_id))


async def set_verified_email(user_id: uuid.UUID, email: str, now: datetime) -> None:
    """Make ``email`` the account's address, verified now (email_lower kept in sync). The
    unique index on email_lower decides a race with another account (the driver's integrity
    error)."""
    await User.update({User.email: email, User.email_lower: email.lower(),
                       User.email_verified_at: now, User.updated_at: now}).where(User.id == user_id)


async def set_verified_phone(user_id: uuid.UUID, phone: str, now: datetime) -> None:
    """Make ``phone`` (E.164) the account's number, verified now."""
    await User.update({User.phone_number: phone, User.phone_verified_at: now,
                       User.updated_at: now}).where(User.id == user_id)


async def add_to_push_device_count(user_id: uuid.UUID, delta: int) -> None:
    """Move users.push_device_count by ``delta`` in the transaction that added or removed the
    rows (a relative UPDATE, so parallel registrations of one user both count)."""
    await User.update({User.push_device_count: User.push_device_count + delta}).where(
        User.id == user_id)
