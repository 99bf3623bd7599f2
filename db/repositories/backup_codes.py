"""Backup codes: keyed HMACs only, and ``users.backup_codes_remaining`` kept equal to the
user's unused rows in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from db.tables import BackupCode, User


async def replace(user_id: uuid.UUID, code_hmacs: Sequence[str], now: datetime) -> None:
    """Delete the user's codes (used or not) and store ``code_hmacs``; remaining = their
    number. Call inside a transaction."""
    await BackupCode.delete().where(BackupCode.user_id == user_id)
    await BackupCode.insert(*(BackupCode(id=uuid.uuid4(), user_id=user_id, code_hmac=h,
                                         created_at=now) for h in code_hmacs))
    await User.update({User.backup_codes_remaining: len(code_hmacs), User.updated_at: now}
                      ).where(User.id == user_id)


async def use(user_id: uuid.UUID, code_hmac: str, now: datetime) -> int | None:
    """Mark the user's unused code with ``code_hmac`` used (conditional UPDATE: of parallel
    uses of one code exactly one wins) and decrement the remaining count (a row-locked
    ``x = x - 1``, right under parallel uses of different codes). Returns the codes remaining,
    or None when no unused code matches. Call inside a transaction."""
    rows = await BackupCode.update({BackupCode.used_at: now}).where(
        (BackupCode.user_id == user_id) & (BackupCode.code_hmac == code_hmac)
        & BackupCode.used_at.is_null()
    ).returning(BackupCode.id)
    if not rows:
        return None
    left = await User.update({User.backup_codes_remaining: User.backup_codes_remaining - 1,
                              User.updated_at: now}).where(User.id == user_id).returning(
        User.backup_codes_remaining)
    return int(left[0]["backup_codes_remaining"])


async def delete_all(user_id: uuid.UUID) -> None:
    """Delete every code of the user; remaining = 0. Call inside a transaction."""
    await BackupCode.delete().where(BackupCode.user_id == user_id)
    await User.update({User.backup_codes_remaining: 0}).where(User.id == user_id)


async def summary(user_id: uuid.UUID) -> tuple[int, int, datetime | None]:
    """(codes issued in the current set, unused ones, when the set was generated or None)."""
    rows = await BackupCode.select(BackupCode.used_at, BackupCode.created_at).where(
        BackupCode.user_id == user_id)
    if not rows:
        return 0, 0, None
    unused = sum(1 for r in rows if r["used_at"] is None)
    return len(rows), unused, min(r["created_at"] for r in rows)
