"""Security alerts follow the person's notification preferences, decided by the worker when
it delivers the alert (issue 9).

An alert is queued once, on email (``uow.alert``). When the worker claims it, it routes it in
the same transaction: one outbox row per chosen channel, in priority order, and the original
row is done. The claim makes a rerun of the job a no-op, so an alert is routed once.

Chosen channels: each enabled preference the person has verified (email: a verified
address; sms: a verified phone number; push: at least one registered device) that the kind
is declared on; a critical kind (``MessageKind.critical``) goes by email as well, whatever the
preferences. There is no push sender yet: a push route is a row with status "recorded" and
data {kind, deviceCount}, so a sender can be added later without a schema change. A security
alert is never dropped: when no chosen channel can deliver (nothing verified, everything
disabled, only push), it goes by email.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from db.repositories import alert_routes, outbox, users
from domain.contacts.preferences import Preference, get_preferences
from domain.messages.kinds import Channel, MessageKind
from domain.records import NewMessage, OutboxRecord, UserRecord

DELIVERED: frozenset[Channel] = frozenset({Channel.EMAIL, Channel.SMS})  # have a sender
ROUTED_FROM = "routed_from"  # data key of a routed row: the alert it came from


def needs_routing(kind: MessageKind, record: OutboxRecord) -> bool:
    """True for a security alert to a user that has not been routed yet."""
    return kind.security_alert and record.user_id is not None and ROUTED_FROM not in record.data


def verified(channel: Channel, user: UserRecord) -> bool:
    """Whether the user has proven the channel reaches them."""
    if channel is Channel.EMAIL:
        return user.email_verified_at is not None
    if channel is Channel.SMS:
        return bool(user.phone_number) and user.phone_verified_at is not None
    return user.push_device_count > 0


def choose(kind: MessageKind, user: UserRecord, preferences: Sequence[Preference]
           ) -> list[Channel]:
    """The channels an alert of ``kind`` goes on, in order (``preferences`` by priority)."""
    chosen: list[Channel] = []
    for preference in preferences:
        channel = Channel(preference.channel)
        if (preference.enabled and channel in kind.channels and channel not in chosen
                and verified(channel, user)):
            chosen.append(channel)
    if (kind.critical or not DELIVERED & set(chosen)) and Channel.EMAIL not in chosen:
        chosen.append(Channel.EMAIL)
    return chosen


def _row(record: OutboxRecord, user: UserRecord, channel: Channel, now: datetime
         ) -> NewMessage:
    data = {**record.data, ROUTED_FROM: str(record.id)}
    recipient = user.email
    if channel is Channel.SMS:
        recipient = user.phone_number or ""
    elif channel is Channel.PUSH:  # "would push": what a push sender would need, no more
        data = {"kind": record.kind, "deviceCount": user.push_device_count,
                ROUTED_FROM: str(record.id)}
        recipient = str(user.id)  # every device of the user
    return NewMessage(id=uuid.uuid4(), kind=record.kind, channel=channel.value,
                      recipient=recipient, user_id=user.id, data=data, created_at=now)


async def route(record: OutboxRecord, kind: MessageKind, now: datetime
                ) -> list[uuid.UUID] | None:
    """Replace the claimed alert ``record`` by its routes; returns the ids of the rows to
    deliver, in priority order, or None when its user is gone (deliver it as it is). Call
    inside the transaction of the claim; the caller marks ``record`` done."""
    user = await users.get_by_id(record.user_id) if record.user_id else None
    if user is None:
        return None
    rows = [_row(record, user, channel, now)
            for channel in choose(kind, user, await get_preferences(user.id))]
    await outbox.add_many([r for r in rows if r.channel != Channel.PUSH.value])
    await alert_routes.add_recorded([r for r in rows if r.channel == Channel.PUSH.value])
    return [r.id for r in rows if r.channel != Channel.PUSH.value]
