"""Users repository: the narrow set of queries the use cases need."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import User
from domain.records import UserRecord

FIELDS = (
    User.id, User.email, User.password_hash, User.name, User.email_verified_at,
    User.roles, User.is_active, User.created_at, User.phone_number, User.phone_verified_at,
    User.mobile_enabled, User.totp_enabled_at, User.sms_two_factor_phone,
    User.backup_codes_remaining, User.push_device_count,
)



def _record(row: dict | None) -> UserRecord | None:
    return UserRecord(**row) if row else None


async def get_by_email(email: str) -> UserRecord | None:
    """Find by email, case-insensitively (emails compare lower-cased; API.md register)."""
    row = await User.select(*FIELDS).where(User.email_lower == email.lower()).first()
    return _record(row)


async def get_by_id(user_id: uuid.UUID) -> UserRecord | None:
    return _record(await User.select(*FIELDS).where(User.id == user_id).first())


async def email_exists(email: str) -> bool:
    return await User.exists().where(User.email_lower == email.lower())


async def insert(*, email: str, password_hash: str, name: str | None, now: datetime
                 ) -> UserRecord:
    """Insert an unverified user with the role "user"; returns it. The unique index on
    email_lower is the last word on duplicates (raises the driver's integrity error on a
    lost race)."""
    user_id = uuid.uuid4()
    await User.insert(
        User(id=user_id, email=email, email_lower=email.lower(), password_hash=password_hash,
             name=name, created_at=now, updated_at=now)
    )
    return UserRecord(id=user_id, email=email, password_hash=password_hash, name=name,
                      email_verified_at=None, roles=["user"], is_active=True, created_at=now)


async def mark_email_verified(user_id: uuid.UUID, now: datetime) -> bool:
    """Set email_verified_at once; True if it was not verified before."""
    rows = await User.update({User.email_verified_at: now, User.updated_at: now}).where(
        (User.id == user_id) & User.email_verified_at.is_null()
    ).returning(User.id)
    return bool(rows)


async def set_password_hash(user_id: uuid.UUID, password_hash: str, now: datetime) -> None:
    await User.update({User.password_hash: password_hash, User.updated_at: now}).where(
        User.id == user_id
    )
