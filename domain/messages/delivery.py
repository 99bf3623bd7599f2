"""The delivery pipeline the worker runs for each outbox row: claim, mint the kind's
secret, send on the kind's channel, record the outcome. A security alert is first routed by
the person's notification preferences into one row per channel (domain/messages/routing.py).

The worker mints each message's secret right before sending: the raw token or code exists
only in worker memory and in the message; the database keeps its hash (ARCHITECTURE.md).

Delivery is at least once, never before the claim: nothing is sent until the claim (pending
-> sending) has committed, so a database outage before it sends nothing (the job raises the
driver's error and the worker retries it with backoff). A job cancelled after its claim
committed and before the provider answered (the worker stopping on SIGTERM, a job timeout)
hands the message back to pending at once, for the next worker; cancelled once the provider
answered, it still records the message as sent. Those writes finish while the job is being
cancelled (db/transaction.to_completion). If the process dies, or the database fails, after
the provider accepted the message but before it was marked sent, the row stays "sending"; the
sweep returns it to pending after STUCK_SENDING_AFTER (domain/maintenance.py) and it is sent
again with the same Message-ID (``<outbox id@latchkey>``, worker/templates), so a receiver can
de-duplicate it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from db.repositories import invitations, outbox
from db.transaction import to_completion, transaction
from domain import one_time_secrets
from domain.clock import Clock
from domain.errors import PermanentDeliveryError, TransientDeliveryError
from domain.messages import routing
from domain.messages.kinds import KINDS, MessageKind
from domain.one_time_secrets import SecretForm, purposes
from domain.records import OutboxRecord
from domain.settings import Settings
from domain.tokens import hash_token, new_opaque_token


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a channel renders and sends. ``data`` may hold a secret: never log it."""

    id: uuid.UUID
    kind: MessageKind
    channel: str
    recipient: str
    data: dict[str, Any] = field(repr=False)
    attempt: int = 1  # 1 on the first try; a channel may cap retries of risky errors by it


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # another run claimed it, or it was already sent: idempotent no-op
    RETRY = "retry"
    FAILED = "failed"
    ROUTED = "routed"  # a security alert, replaced by one message per chosen channel


# Sends one message; returns the provider's id of it (Twilio's SID) when there is one.
Sender = Callable[[OutgoingMessage], Awaitable[str | None]]
# Enqueues committed outbox messages (domain.services.Dispatcher); must not raise.
Dispatch = Callable[[Sequence[uuid.UUID]], Awaitable[None]]


def _lifetime(seconds: int) -> str:
    return f"{seconds // 3600} hours" if seconds >= 7200 else f"{seconds // 60} minutes"


async def _mint(kind: MessageKind, record: OutboxRecord, data: dict[str, Any],
                settings: Settings, clock: Clock) -> str | None:
    """Issue the kind's one-time secret (if any) and put it in ``data``; the lifetime starts
    now, when the message is sent, not when it was queued. Returns why the message must not
    be sent after all (an invitation revoked or accepted meanwhile), else None."""
    purpose = kind.secret
    if purpose is purposes.INVITATION:  # the invitee may have no account: the row holds it
        raw, ttl = new_opaque_token(), purpose.ttl(settings)
        if not await invitations.set_token(uuid.UUID(str(data.get("invitation_id"))),
                                           token_hash=hash_token(raw),
                                           expires_at=clock() + timedelta(seconds=ttl)):
            return "the invitation was revoked or accepted before it was sent"
        data["link"] = f"{settings.app_url.rstrip('/')}{purpose.link_path}?token={raw}"
        data["expires_in"] = _lifetime(ttl)
        return None
    if purpose is None or record.user_id is None:
        return None
    if purpose.form is SecretForm.LINK:
        raw, ttl = await one_time_secrets.issue_link(
            purpose, user_id=record.user_id, settings=settings, now=clock(),
            ip_address=data.get("ip_address"), user_agent=data.get("user_agent"))
        data["link"] = f"{settings.app_url.rstrip('/')}{purpose.link_path}?token={raw}"
    else:
        raw, ttl = await one_time_secrets.issue_code(purpose, user_id=record.user_id,
                                                     settings=settings, now=clock(),
                                                     target=record.recipient)
        data["code"] = raw
    data["expires_in"] = _lifetime(ttl)
    return None


async def deliver(message_id: uuid.UUID, *, send: Sender, settings: Settings, clock: Clock,
                  final_attempt: bool, dispatch: Dispatch | None = None) -> Outcome:
    """Claim the outbox row, mint its secret, send it, record the result. A security alert
    is routed instead: its routes are committed with the claim and handed to ``dispatch``
    (without one, the outbox sweep delivers them), and ROUTED is returned.

    raises nothing for delivery problems: returns RETRY (transient, row back to pending) or
    FAILED (permanent, an unknown kind, or transient on the ``final_attempt``). Raises the
    database driver's errors (the caller retries the job) and CancelledError (after handing
    a claimed message back to pending).
    """
    routes: list[uuid.UUID] | None = None
    void: str | None = None
    claim = transaction()
    try:
        async with claim:
            record = await outbox.claim(message_id, clock())
            if record is None:
                return Outcome.SKIPPED
            kind = KINDS.get(record.kind)
            data = dict(record.data)
            if kind is not None and routing.needs_routing(kind, record):
                routes = await routing.route(record, kind, clock())
            if routes is not None:
                await outbox.finish(record.id, status=outbox.SENT, now=clock())
            elif kind is not None:
                void = await _mint(kind, record, data, settings, clock)
    except asyncio.CancelledError:
        # Cancelled as the claim committed (the commit runs to its end, db/transaction.py):
        # the row is ours and unsent; hand it back now, not after STUCK_SENDING_AFTER.
        if claim.committed and routes is None:
            await _hand_back(message_id, clock)
        raise
    if routes is not None:
        if dispatch is not None and routes:
            await dispatch(routes)
        return Outcome.ROUTED
    if kind is None or void is not None:  # a row of a newer release or by hand: never guess
        await outbox.finish(record.id, status=outbox.FAILED, now=clock(),
                            error=void or f"unknown message kind {record.kind!r}")
        return Outcome.FAILED
    data["app_url"] = settings.app_url.rstrip("/")
    data.setdefault("dashboard_url", data["app_url"])  # welcome rows queued before issue 13
    message = OutgoingMessage(record.id, kind, record.channel, record.recipient, data,
                              attempt=record.attempts)
    try:
        provider_id = await send(message)
    except asyncio.CancelledError:
        # The worker is stopping (arq cancels running jobs on SIGTERM) or the job timed out
        # before the provider answered: hand the message back now rather than leave it
        # "sending" until the sweep.
        await _hand_back(record.id, clock)
        raise
    except PermanentDeliveryError as exc:
        await outbox.finish(record.id, status=outbox.FAILED, now=clock(), error=str(exc)[:500])
        return Outcome.FAILED
    except Exception as exc:  # transient, or a bug: retry, then give up on the last attempt
        error = str(exc) if isinstance(exc, TransientDeliveryError) else type(exc).__name__
        status = outbox.FAILED if final_attempt else outbox.PENDING
        await outbox.finish(record.id, status=status, now=clock(), error=error[:500])
        return Outcome.FAILED if final_attempt else Outcome.RETRY
    # The provider has it: record that even if the worker is stopping meanwhile (else the
    # sweep would send it again after STUCK_SENDING_AFTER).
    await to_completion(outbox.finish(record.id, status=outbox.SENT, now=clock(),
                                      provider_id=provider_id))
    return Outcome.SENT


async def _hand_back(message_id: uuid.UUID, clock: Clock) -> None:
    """A claimed, unsent message back to pending for the next worker (its job stays queued:
    arq runs a cancelled job again). Runs to its end while the job is being cancelled, for
    at most END_WITHIN seconds; if the database fails meanwhile the row stays "sending" and
    the sweep returns it after STUCK_SENDING_AFTER (domain/maintenance.py)."""
    with contextlib.suppress(Exception):
        await to_completion(outbox.finish(message_id, status=outbox.PENDING, now=clock(),
                                          error="interrupted: the worker stopped mid-send"))
