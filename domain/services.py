"""What use cases need from the outside world, built by the composition roots (api, worker)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.clock import Clock
from domain.passwords import PasswordHasher
from domain.settings import Settings
from domain.tokens import AccessTokenCodec


class Dispatcher(Protocol):
    """Hands committed outbox messages to the queue. Must not raise: a message it cannot
    enqueue is still delivered by the outbox sweep."""

    async def __call__(self, message_ids: Sequence[uuid.UUID]) -> None: ...


class SessionDenylist(Protocol):
    """Revoked session ids, kept until their last access token could expire."""

    async def add(self, session_id: uuid.UUID, ttl: int) -> None:
        """ttl: seconds. Must not raise when the store is down (the DB stays authoritative)."""

    async def contains(self, session_id: uuid.UUID) -> bool | None:
        """True/False, or None when the store cannot answer (caller falls back to the DB)."""


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for sessions and the audit trail."""

    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(slots=True)
class Services:
    """The shared collaborators of the HTTP use cases."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    access_tokens: AccessTokenCodec
    dispatch: Dispatcher
    denylist: SessionDenylist
