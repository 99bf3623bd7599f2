"""What use cases need from the outside world: the ports (protocols) the composition root
(``scripts/bootstrap.py``) fills with Redis and arq adapters, and the ``Services`` bundle
handed to every use case."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.clock import Clock
from domain.directory.oidc import IdentityProviders
from domain.errors import RateLimited
from domain.names import RateLimit
from domain.passwords.hashing import PasswordHasher
from domain.settings import Settings
from domain.tokens import AccessTokenCodec
from domain.unit_of_work import UnitOfWork


class Dispatcher(Protocol):
    """Hands committed outbox messages to the queue. Must not raise: a message it cannot
    enqueue is still delivered by the outbox sweep."""

    async def __call__(self, message_ids: Sequence[uuid.UUID]) -> None: ...


class SessionDenylist(Protocol):
    """Revoked session ids, kept until their last access token could expire."""

    async def add_many(self, session_ids: Sequence[uuid.UUID], ttl: int) -> None:
        """ttl: seconds. One round trip; must not raise when the store is down (the
        database stays authoritative and the sweep re-syncs)."""

    async def missing(self, session_ids: Sequence[uuid.UUID]) -> int:
        """How many of the ids have no entry (the sweep reports entries the store lost);
        0 when the store cannot answer."""

    async def contains(self, session_id: uuid.UUID) -> bool | None:
        """True/False, or None when the store cannot answer (caller falls back to the DB)."""


class RateLimiter(Protocol):
    """Shared counters (Redis) for rate limits."""

    async def hit(self, limit: str, *key: str) -> int | None:
        """Count one request against ``limit`` ("20/minute") for ``key``; None when allowed,
        else seconds until the next one is. Must not raise when the store is down."""


class Lockout(Protocol):
    """Per-account sign-in lockout against password guessing (OWASP ASVS 2.2.1)."""

    async def begin(self, account: str) -> tuple[int | None, bool]:
        """Reserve one attempt atomically: (attempt number, or None when locked; True when a
        previous lockout has ended since the last attempt)."""

    async def failed(self, account: str, attempt: int) -> bool:
        """Record a wrong password; True when this failure starts a lockout."""

    async def release(self, account: str) -> None:
        """A right first factor that still owes a second one: undo this attempt's
        reservation, neither counting it nor forgiving earlier failures."""

    async def succeeded(self, account: str) -> None:
        """A right password: forget the failures."""

    async def clear(self, account: str) -> bool:
        """End any lockout (password reset); True if one was in force."""


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for sessions and the audit trail."""

    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(slots=True)
class Services:
    """The shared collaborators of the use cases, built once per process by the bootstrap."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    access_tokens: AccessTokenCodec
    dispatch: Dispatcher
    denylist: SessionDenylist
    rate_limiter: RateLimiter
    lockout: Lockout
    identity_providers: IdentityProviders  # OpenID Connect client of single sign-on

    def unit_of_work(self, info: RequestInfo) -> UnitOfWork:
        """A unit of work for a change caused by the request described by ``info``."""
        return UnitOfWork(self, info, self.clock())

    async def end_sessions(self, session_ids: Sequence[uuid.UUID]) -> None:
        """After commit: deny-list revoked sessions until their last access token expires."""
        await self.denylist.add_many(session_ids, self.settings.access_token_ttl)

    async def limit(self, name: RateLimit, *key: str) -> None:
        """Apply the rate limit ``settings.rate_limit_<name>`` to ``key``; raises RateLimited."""
        rate = getattr(self.settings, f"rate_limit_{name.value}")
        retry_after = await self.rate_limiter.hit(rate, name.value, *key)
        if retry_after is not None:
            raise RateLimited(retry_after, limit=f"{name.describe()}, {rate}",
                              setting=f"RATE_LIMIT_{name.value.upper()}")
