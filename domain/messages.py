"""Message kinds and the delivery pipeline run by the worker for each outbox row.

The worker mints each message's secret right before sending: the raw token exists only in
worker memory and in the message; the database keeps its SHA-256 (ARCHITECTURE.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from db.repositories import one_time_tokens, outbox
from db.transaction import transaction
from domain.clock import Clock
from domain.errors import PermanentDeliveryError, TransientDeliveryError
from domain.settings import Settings
from domain.tokens import hash_token, new_opaque_token


class MessageKind(StrEnum):
    VERIFY_EMAIL = "verify_email"
    WELCOME = "welcome"
    RESET_PASSWORD = "reset_password"


# kind -> (one-time-token purpose, link path, ttl setting name)
LINKED_KINDS: dict[str, tuple[str, str, str]] = {
    MessageKind.VERIFY_EMAIL: ("verify_email", "/verify-email", "email_verification_ttl"),
    MessageKind.RESET_PASSWORD: ("reset_password", "/reset-password", "password_reset_ttl"),
}


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a channel renders and sends. ``data`` may hold a secret link: never log it."""

    id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    data: dict[str, Any] = field(repr=False)


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # another run claimed it, or it was already sent: idempotent no-op
    RETRY = "retry"
    FAILED = "failed"


Sender = Callable[[OutgoingMessage], Awaitable[None]]


async def deliver(message_id: uuid.UUID, *, send: Sender, settings: Settings, clock: Clock,
                  final_attempt: bool) -> Outcome:
    """Claim the outbox row, mint its secret, send it, record the result.

    raises nothing for delivery problems: returns RETRY (transient, row back to pending) or
    FAILED (permanent, or transient on the ``final_attempt``).
    """
    now = clock()
    async with transaction():
        record = await outbox.claim(message_id, now)
        if record is None:
            return Outcome.SKIPPED
        data = dict(record.data)
        if record.kind in LINKED_KINDS:
            purpose, path, ttl_name = LINKED_KINDS[record.kind]
            raw = new_opaque_token()
            ttl = getattr(settings, ttl_name)
            await one_time_tokens.replace(
                user_id=record.user_id, purpose=purpose, token_hash=hash_token(raw),
                expires_at=now + timedelta(seconds=ttl), now=now,
                ip_address=data.get("ip_address"), user_agent=data.get("user_agent"),
            )
            data["link"] = f"{settings.app_url.rstrip('/')}{path}?token={raw}"
            data["expires_in"] = f"{ttl // 3600} hours" if ttl >= 7200 else f"{ttl // 60} minutes"
    data["app_url"] = settings.app_url.rstrip("/")
    message = OutgoingMessage(record.id, record.kind, record.channel, record.recipient, data)
    try:
        await send(message)
    except PermanentDeliveryError as exc:
        await outbox.finish(record.id, status=outbox.FAILED, now=clock(), error=str(exc)[:500])
        return Outcome.FAILED
    except Exception as exc:  # transient, or a bug: retry, then give up on the last attempt
        error = str(exc) if isinstance(exc, TransientDeliveryError) else type(exc).__name__
        status = outbox.FAILED if final_attempt else outbox.PENDING
        await outbox.finish(record.id, status=status, now=clock(), error=error[:500])
        return Outcome.FAILED if final_attempt else Outcome.RETRY
    await outbox.finish(record.id, status=outbox.SENT, now=clock())
    return Outcome.SENT
