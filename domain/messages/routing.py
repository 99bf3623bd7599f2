"""Security alerts follow the person's notification preferences, decided by the worker when
it delivers the alert (issue 9; slack and voice: issue 13).

An alert is queued once, on email (``uow.alert``). When the worker claims it, it routes it in
the same transaction: one outbox row per chosen channel, in priority order, and the original
row is done. The claim makes a rerun of the job a no-op, so an alert is routed once.

Chosen channels: each enabled preference the kind is declared on that can reach the person
(``reachable``): email, a verified address; sms, a verified phone number; push, at least
one registered device; voice, a verified phone number (the call would ring it); slack,
always (there is no Slack identity to prove until a Slack integration exists, and nothing
is sent). A critical kind (``MessageKind.critical``) goes by email as well, whatever the
preferences.

Push, slack and voice have no sender yet: their routes are rows with status "recorded" and
the reason in ``last_error`` (NO_SENDER), holding what a sender would need (push: {kind,
deviceCount}; slack and voice: the alert's template values), so a sender can be added later
without a schema change. What the person sees: the preference is accepted and kept, and the
alert reaches them by email meanwhile — a security alert is never dropped: when no chosen
channel can deliver (nothing verified, everything disabled, only push/slack/voice), it goes
by email.
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
# Why a route on a channel without a sender was recorded instead of sent (``last_error``).
NO_SENDER: dict[Channel, str] = {
    Channel.PUSH: "not delivered: no push sender yet",
    Channel.SLACK: "not delivered: no Slack integration yet",
    Channel.VOICE: "not delivered: no voice sender yet",
}
ROUTED_FROM = "routed_from"  # data key of a routed row: the alert it came from


def needs_routing(kind: MessageKind, record: OutboxRecord) -> bool:
    """True for a security alert to a user that has not been routed yet."""
    return kind.security_alert and record.user_id is not None and ROUTED_FROM not in record.data


def _phone_verified(user: UserRecord) -> bool:
    return bool(user.phone_number) and user.phone_verified_at is not None


def reachable(channel: Channel, user: UserRecord) -> bool:
    """Whether an alert may be routed to the user on ``channel``: email, sms and voice need
    the verified address or number, push a registered device; slack is always recorded
    (see the module docstring)."""
    if channel is Channel.EMAIL:
        return user.email_verified_at is not None
    if channel in (Channel.SMS, Channel.VOICE):
        return _phone_verified(user)
    if channel is Channel.PUSH:
        return user.push_device_count > 0
    return channel is Channel.SLACK


def choose(kind: MessageKind, user: UserRecord, preferences: Sequence[Preference]
           ) -> list[Channel]:
    """The channels an alert of ``kind`` goes on, in order (``preferences`` by priority)."""
    chosen: list[Channel] = []
    for preference in preferences:
        channel = Channel(preference.channel)
        if (preference.enabled and channel in kind.channels and channel not in chosen
                and reachable(channel, user)):
            chosen.append(channel)
    if (kind.critical or not DELIVERED & set(chosen)) and Channel.EMAIL not in chosen:
        chosen.append(Channel.EMAIL)
    return chosen


def _row(record: OutboxRecord, user: UserRecord, channel: Channel, now: datetime
         ) -> NewMessage:
    data = {**record.data, ROUTED_FROM: str(record.id)}
    recipient = user.email
    if channel in (Channel.SMS, Channel.VOICE):
        recipient = user.phone_number or ""
    elif channel is Channel.SLACK:  # no Slack identity yet: the sender would look it up
        recipient = str(user.id)
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
    sent = [r for r in rows if Channel(r.channel) in DELIVERED]
    await outbox.add_many(sent)
    await alert_routes.add_recorded([(r, NO_SENDER[Channel(r.channel)]) for r in rows
                                     if Channel(r.channel) not in DELIVERED])
    return [r.id for r in sent]
