"""The unit of work: one database transaction plus the effects it causes.

A use case opens one, changes state through the repositories, and records what must happen
because of the change: outbox messages, audit events, sessions to end. The rows are written
inside the transaction; only after the commit succeeds are the jobs enqueued and the
deny-list updated, so a rollback sends nothing and revokes nothing (cosmicpython ch. 6-9,
"effects only after commit"; ARCHITECTURE.md "Why an outbox").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from db.repositories import audit, outbox
from db.transaction import transaction
from domain.messages.alerts import alert_data
from domain.messages.kinds import MessageKind
from domain.names import AuditAction
from domain.records import NewAuditEvent, NewMessage, UserRecord
from domain.request_context import OUTBOX_KEY, request_id

if TYPE_CHECKING:
    from domain.services import RequestInfo


class Effects(Protocol):
    """What happens after commit. Neither call may raise: a message that cannot be enqueued
    is delivered by the outbox sweep, a deny-list write that fails is re-synced by it."""

    async def dispatch(self, message_ids: Sequence[uuid.UUID]) -> None: ...

    async def end_sessions(self, session_ids: Sequence[uuid.UUID]) -> None: ...


class UnitOfWork:
    """``async with svc.unit_of_work(info) as uow:`` — ``uow.now`` is the time of the change.

    raises whatever the block raises (the transaction is rolled back and no effect runs).
    """

    def __init__(self, effects: Effects, info: RequestInfo, now: datetime) -> None:
        self._effects = effects
        self.info = info
        self.now = now
        self._events: list[NewAuditEvent] = []
        self._messages: list[NewMessage] = []
        self._ended: list[uuid.UUID] = []
        self._tx: Any = None

    def audit(self, action: AuditAction, user_id: uuid.UUID | None, *,
              actor_id: uuid.UUID | None = None, organization_id: uuid.UUID | None = None,
              **metadata: object) -> None:
        """Record an audit event with this request's IP and user agent. metadata: no secrets.
        organization_id: the organization it concerns (shown in its events feed)."""
        self._events.append(NewAuditEvent(
            action=action.value, user_id=user_id, actor_id=actor_id,
            ip_address=self.info.ip_address, user_agent=self.info.user_agent,
            metadata=metadata, created_at=self.now, organization_id=organization_id))

    def send(self, kind: MessageKind, *, user: UserRecord | None,
             data: dict[str, Any] | None = None, recipient: str | None = None) -> uuid.UUID:
        """Queue a message of ``kind`` to ``user`` (recipient: the user's email unless given;
        ``user`` None: to an address without an account, such as an invitation, and then
        ``recipient`` is required) on the kind's first channel; returns the outbox id.
        ``data`` must hold no secret: the worker mints the kind's secret at send time. The
        current request id goes along as ``data["request_id"]`` so the worker's log lines
        about the message carry it. raises ValueError without user or recipient."""
        if user is None and recipient is None:
            raise ValueError("a message needs a user or a recipient")
        message_id = uuid.uuid4()
        row_data = {"name": user.name if user else None, **(data or {})}
        if (rid := request_id.get()) is not None:
            row_data[OUTBOX_KEY] = rid
        self._messages.append(NewMessage(
            id=message_id, kind=kind.name, channel=kind.channels[0].value,
            recipient=recipient or user.email,  # type: ignore[union-attr]  # checked above
            user_id=user.id if user else None,
            data=row_data, created_at=self.now))
        return message_id

    def alert(self, kind: MessageKind, *, user: UserRecord, device: RequestInfo | None = None,
              device_name: str | None = None, data: dict[str, Any] | None = None) -> uuid.UUID:
        """Queue a security alert about ``device`` (default: this request's client); ``data``:
        the kind's own template values (``method``, ``remaining``), never a secret.

        The row is written once, on email; the worker routes it when it delivers it, by the
        user's notification preferences (domain/messages/routing.py)."""
        return self.send(kind, user=user, data={**alert_data(
            now=self.now, device=device or self.info, device_name=device_name), **(data or {})})

    def end_sessions(self, session_ids: Iterable[uuid.UUID]) -> None:
        """Deny-list these (already revoked) sessions after commit: their access tokens fail
        on the very next request."""
        self._ended.extend(session_ids)

    async def __aenter__(self) -> UnitOfWork:
        self._tx = transaction()
        await self._tx.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            try:  # the collected rows, in one multi-row INSERT per table
                await audit.record_many(self._events)
                await outbox.add_many(self._messages)
            except BaseException as error:
                await self._tx.__aexit__(type(error), error, error.__traceback__)
                raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc is None:
            if self._ended:
                await self._effects.end_sessions(self._ended)
            if self._messages:
                await self._effects.dispatch([m.id for m in self._messages])
