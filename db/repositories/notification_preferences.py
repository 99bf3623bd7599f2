"""Notification preferences: one row per (user, channel), unique on both."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from db.tables import NotificationPreference

# (channel, enabled, priority): the domain wraps these in its own type
Row = tuple[str, bool, int]


async def list_for_user(user_id: uuid.UUID) -> list[Row]:
    """The user's stored preferences by priority (1 first), then channel; [] when none."""
    rows = await NotificationPreference.select(
        NotificationPreference.channel, NotificationPreference.enabled,
        NotificationPreference.priority,
    ).where(NotificationPreference.user_id == user_id).order_by(
        NotificationPreference.priority).order_by(NotificationPreference.channel)
    return [(r["channel"], bool(r["enabled"]), r["priority"]) for r in rows]


async def replace(user_id: uuid.UUID, rows: Sequence[Row]) -> None:
    """Replace the user's whole list with ``rows`` (channels unique). Call inside a
    transaction that holds the user's row lock (contacts.lock_user), so two replacements
    of one list cannot interleave and trip the unique index."""
    await NotificationPreference.delete().where(NotificationPreference.user_id == user_id)
    await insert(user_id, rows)


async def insert(user_id: uuid.UUID, rows: Sequence[Row]) -> None:
    """Add ``rows`` to an account that has no list (channels unique): a new account's
    default, written in the transaction that creates it, or the new list of ``replace``."""
    if rows:
        await NotificationPreference.insert(*(
            NotificationPreference(id=uuid.uuid4(), user_id=user_id, channel=channel,
                                   enabled=enabled, priority=priority)
            for channel, enabled, priority in rows))
