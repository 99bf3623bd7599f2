"""Notification preferences: which channels a person wants security alerts on, in which
order (priority 1 first). The worker routes alerts by them (domain/messages/routing.py).

Five channels (the OnCall seed's): email, sms, push, slack, voice. Email and SMS have
senders; push, slack and voice do not yet. A person may list all five; an alert routed to a
channel without a sender is recorded in the outbox (status "recorded", with the reason) and
the alert still goes by email when nothing chosen can deliver it. Every account starts with
DEFAULT, written when it is created (``start``); accounts older than issue 13 got it by
migration m0006.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from db.repositories import contacts, notification_preferences
from domain.errors import NotFound, ValidationFailed
from domain.messages.kinds import Channel
from domain.names import AuditAction
from domain.services import RequestInfo, Services

CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.SLACK,
                                 Channel.VOICE)
MIN_PRIORITY, MAX_PRIORITY = 1, 10


@dataclass(frozen=True, slots=True)
class Preference:
    """One channel of the list. priority: 1-10, 1 first."""

    channel: str
    enabled: bool
    priority: int


# What an account that never saved a list gets (API.md: email enabled at priority 1).
DEFAULT: tuple[Preference, ...] = (Preference(Channel.EMAIL.value, True, 1),)


def _ordered(preferences: Sequence[Preference]) -> list[Preference]:
    """By priority, ties in the order of CHANNELS (stable and documented)."""
    rank = {c.value: i for i, c in enumerate(CHANNELS)}
    return sorted(preferences, key=lambda p: (p.priority, rank.get(p.channel, len(rank))))


def check(preferences: Sequence[Preference]) -> list[Preference]:
    """The list, ordered, if it is valid. raises ValidationFailed naming each bad entry
    (``preferences[i].channel``: not one of CHANNELS or given twice;
    ``preferences[i].priority``: outside 1-10; ``preferences``: empty)."""
    errors: list[tuple[str, str]] = []
    allowed = ", ".join(c.value for c in CHANNELS)
    seen: set[str] = set()
    for i, preference in enumerate(preferences):
        if preference.channel not in {c.value for c in CHANNELS}:
            errors.append((f"preferences[{i}].channel", f"must be one of {allowed}"))
        elif preference.channel in seen:
            errors.append((f"preferences[{i}].channel", "each channel may appear only once"))
        seen.add(preference.channel)
        if not MIN_PRIORITY <= preference.priority <= MAX_PRIORITY:
            errors.append((f"preferences[{i}].priority",
                           f"must be between {MIN_PRIORITY} and {MAX_PRIORITY}"))
    if not preferences:
        errors.append(("preferences", "list at least one channel (disable it to mute it)"))
    if errors:
        raise ValidationFailed(errors)
    return _ordered(preferences)


async def start(user_id: uuid.UUID) -> None:
    """Give a new account DEFAULT (email enabled, priority 1). Call inside the transaction
    that creates the account, so it never exists without a list."""
    await notification_preferences.insert(
        user_id, [(p.channel, p.enabled, p.priority) for p in DEFAULT])


async def get_preferences(user_id: uuid.UUID) -> list[Preference]:
    """The user's list by priority; DEFAULT when none is stored (an account written
    straight to the database, as some tests and scripts do)."""
    stored = await notification_preferences.list_for_user(user_id)
    return _ordered([Preference(*row) for row in stored]) if stored else list(DEFAULT)


async def replace_preferences(svc: Services, user_id: uuid.UUID,
                              preferences: Sequence[Preference], *,
                              info: RequestInfo) -> list[Preference]:
    """Replace the user's whole list in one transaction (audited PREFERENCES_UPDATED) and
    return it as stored, by priority. raises ValidationFailed (see ``check``), NotFound."""
    ordered = check(preferences)
    async with svc.unit_of_work(info) as uow:
        if not await contacts.lock_user(user_id, uow.now):  # one replacement at a time
            raise NotFound()
        await notification_preferences.replace(
            user_id, [(p.channel, p.enabled, p.priority) for p in ordered])
        uow.audit(AuditAction.PREFERENCES_UPDATED, user_id,
                  preferences=[asdict(p) for p in ordered])
    return ordered
