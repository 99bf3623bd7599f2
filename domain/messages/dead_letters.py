"""Dead letters and replay: an operator's view of the outbox and the retry of a failed message
(GET /v1/admin/messages, POST /v1/admin/messages/{id}/retry, ``python -m scripts.messages``).

The view shows each message's fate (kind, channel, masked recipient, status, attempts, last
error, timestamps) and never its template ``data``. A replay puts a failed message back to
pending with its attempts reset and enqueues it after the commit; the worker then mints a
fresh secret when it sends (domain/messages/delivery.py), so the replayed email carries a
working link or code while the one of the failed attempt (never delivered) is superseded.
"""

from __future__ import annotations

import dataclasses
import re
import uuid

from db.repositories import outbox
from db.repositories.outbox import OutboxEntry
from domain.audit import decode_cursor, encode_cursor
from domain.contacts_format import mask_email, mask_phone
from domain.errors import MessageNotRetryable, NotFound, ValidationFailed
from domain.messages.kinds import Channel
from domain.names import AuditAction
from domain.services import RequestInfo, Services

MAX_PAGE = 100
STATUSES = outbox.STATUSES  # pending, sending, sent, failed
_EMAIL = re.compile(r"[^\s<>()\[\]'\",;:@]+@[^\s<>()\[\]'\",;:]+")
_PHONE = re.compile(r"\+\d{6,15}")


# One outbox message as an operator sees it: an OutboxEntry whose ``recipient`` and
# ``last_error`` are masked (:func:`view`).
MessageView = OutboxEntry


def _phone(value: str) -> str:
    try:
        return mask_phone(value)
    except Exception:  # a malformed number written by hand: mask it without parsing
        return f"{value[:2]}***{value[-2:]}"


def mask_recipient(entry: OutboxEntry) -> str:
    """email ``ab***@example.com``, SMS ``+1******2671``, push: the user id (a push goes to
    the person's devices, not to an address)."""
    if entry.channel == Channel.PUSH.value:
        return str(entry.user_id) if entry.user_id else "***"
    if entry.channel == Channel.SMS.value:
        return _phone(entry.recipient)
    if "@" in entry.recipient:
        return mask_email(entry.recipient)
    return f"{entry.recipient[:2]}***"


def mask_error(error: str | None) -> str | None:
    """A provider's error text with every email address and phone number in it masked
    (an SMTP 550 often quotes the address)."""
    if error is None:
        return None
    error = _EMAIL.sub(lambda m: mask_email(m.group()), error)
    return _PHONE.sub(lambda m: _phone(m.group()), error)


def view(entry: OutboxEntry) -> MessageView:
    """``entry`` with its recipient and error text masked."""
    return dataclasses.replace(entry, recipient=mask_recipient(entry),
                               last_error=mask_error(entry.last_error))


async def list_messages(svc: Services, *, actor_id: uuid.UUID | None, info: RequestInfo,
                        status: str | None = None, limit: int = 50,
                        cursor: str | None = None) -> tuple[list[MessageView], str | None]:
    """(messages newest first, next cursor or None). status: one of STATUSES or None for
    all; limit: 1..100; cursor: ``nextCursor`` of the previous page. Audited
    (MESSAGES_LISTED, actor_id: the admin; None: an operator's shell).
    raises ValidationFailed for a bad status, limit or cursor."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed([("status", f"must be one of {', '.join(STATUSES)}")])
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed([("limit", f"must be between 1 and {MAX_PAGE}")])
    before = decode_cursor(cursor) if cursor else None
    async with svc.unit_of_work(info) as uow:
        entries = await outbox.page(status=status, limit=limit + 1, before=before)
        uow.audit(AuditAction.MESSAGES_LISTED, None, actor_id=actor_id, status=status,
                  count=min(len(entries), limit))
    items = [view(e) for e in entries[:limit]]
    return items, (encode_cursor(items[-1]) if len(entries) > limit else None)


async def retry(svc: Services, message_id: uuid.UUID, *, actor_id: uuid.UUID | None,
                info: RequestInfo) -> MessageView:
    """Replay a failed message: pending again with attempts reset (``last_error`` stays until
    the next outcome), audited (MESSAGE_RETRIED on the message's user, actor_id: the admin;
    None: an operator's shell), enqueued after the commit (the sweep enqueues it if Redis is
    away). raises NotFound for an unknown id, MessageNotRetryable (409) unless it is failed."""
    async with svc.unit_of_work(info) as uow:
        entry = await outbox.requeue_failed(message_id, uow.now)
        if entry is None:
            if await outbox.status_of(message_id) is None:
                raise NotFound("No such message.")
            raise MessageNotRetryable()
        uow.audit(AuditAction.MESSAGE_RETRIED, entry.user_id, actor_id=actor_id,
                  message_id=str(entry.id), kind=entry.kind, channel=entry.channel)
    await svc.dispatch([entry.id])  # after the commit; never raises
    return view(entry)
