"""Redis-backed deny-list of revoked session ids (domain.services.SessionDenylist)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

PREFIX = "latchkey:revoked-session:"
CLOCK_SKEW = 60  # seconds kept beyond the access-token TTL, for clocks a little apart

log = logging.getLogger("latchkey.denylist")


class RedisSessionDenylist:
    """Keys ``latchkey:revoked-session:<uuid>`` expiring with the session's last access token."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add_many(self, session_ids: Sequence[uuid.UUID], ttl: int) -> None:
        """Deny-list every id in one round trip (sign-out of all sessions, the re-sync).
        Logs and returns on Redis errors; the sweep re-syncs from the database."""
        if not session_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id in session_ids:
                    pipe.set(PREFIX + str(session_id), b"1", ex=ttl + CLOCK_SKEW)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("deny-list write failed (%s); the sweep re-syncs it", type(exc).__name__)

    async def missing(self, session_ids: Sequence[uuid.UUID]) -> int:
        """How many of ``session_ids`` have no entry (one EXISTS); 0 when Redis cannot answer
        (the re-sync that follows logs that)."""
        if not session_ids:
            return 0
        try:
            present = await self._redis.exists(*(PREFIX + str(i) for i in session_ids))
        except (RedisError, OSError):
            return 0
        return len(session_ids) - int(present)

    async def contains(self, session_id: uuid.UUID) -> bool | None:
        """True/False, or None when Redis cannot answer (the caller asks the database)."""
        try:
            return bool(await self._redis.exists(PREFIX + str(session_id)))
        except (RedisError, OSError):
            return None
