"""Dead letters and replay — /v1/admin/messages (API.md "Administration"). Admin only; both
operations are audited with the admin as actor (domain/messages/dead_letters.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from msgspec import Struct

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import admin_only
from api.openapi import BEARER, problems
from api.schemas import PRINTABLE
from domain.messages import dead_letters
from domain.messages.dead_letters import MessageView
from domain.services import Services
from domain.tokens import AccessClaims

MessageStatus = Literal["pending", "sending", "sent", "failed"]


class OutboxMessageItem(Struct, rename="camel"):
    """One message's fate. ``recipient`` is masked (email ``ab***@example.com``, SMS
    ``+1******2671``, push: the user id); template data is never shown."""

    id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    status: MessageStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, message: MessageView) -> OutboxMessageItem:
        return cls(id=message.id, kind=message.kind, channel=message.channel,
                   recipient=message.recipient, status=message.status,  # type: ignore[arg-type]
                   attempts=message.attempts, last_error=message.last_error,
                   created_at=message.created_at, sent_at=message.sent_at)


class OutboxMessagePage(Struct, rename="camel"):
    items: list[OutboxMessageItem]
    next_cursor: str | None


class RetryAccepted(Struct, rename="camel"):
    id: uuid.UUID
    status: Literal["pending"]


class AdminMessageController(Controller):
    path = "/v1/admin/messages"
    tags = ["admin"]
    guards = [admin_only]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @get("/", security=BEARER, responses=problems(400, 401, 403))
    async def list_messages(
        self, request: Request, svc: Services, claims: AccessClaims,
        status: MessageStatus | None = None,
        limit: int = Parameter(default=50, ge=1, le=100),
        cursor: str | None = Parameter(default=None, max_length=200, pattern=PRINTABLE),
    ) -> OutboxMessagePage:
        """Admin: outbox messages newest first, of one `status` when given (`failed`: the
        dead letters); pass `nextCursor` as `cursor` for the next page. Audited."""
        items, next_cursor = await dead_letters.list_messages(
            svc, actor_id=claims.user_id, info=request_info(request), status=status,
            limit=limit, cursor=cursor)
        return OutboxMessagePage(items=[OutboxMessageItem.of(m) for m in items],
                                 next_cursor=next_cursor)

    @post("/{message_id:uuid}/retry", status_code=202, security=BEARER,
          responses=problems(401, 403, 404, 409))
    async def retry(self, request: Request, svc: Services, claims: AccessClaims,
                    message_id: uuid.UUID) -> RetryAccepted:
        """Admin: send a failed message again: back to pending with its attempts reset, and
        queued; the worker mints a fresh link or code when it sends. 409 `message_not_failed`
        for a message that is pending, sending or sent. Audited."""
        message = await dead_letters.retry(svc, message_id, actor_id=claims.user_id,
                                           info=request_info(request))
        return RetryAccepted(id=message.id, status="pending")


CONTROLLERS: list[type[Controller]] = [AdminMessageController]
