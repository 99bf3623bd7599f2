"""Redis-backed sign-in lockout (domain.services.Lockout): our own Lua script, because the
attempt must be reserved before the password is checked (OWASP ASVS 2.2.1)."""

from __future__ import annotations

import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("latchkey.lockout")

# KEYS: failures, lock, locked-before. ARGV: window, threshold.
# Returns {attempt or -1 when locked, 1 when an earlier lockout has ended since}.
BEGIN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end
local ended = redis.call('DEL', KEYS[3])
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return {-1, ended} end
return {n, ended}
"""


# KEYS: failures. Undo one reserved attempt (never below zero).
RELEASE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisLockout:
    """domain.services.Lockout: the attempt counter is taken *before* the password is
    checked, in one Lua script, so N parallel guesses get at most ``threshold`` checks."""

    def __init__(self, redis: Redis, *, threshold: int, window: int, duration: int) -> None:
        self._redis = redis
        self._begin = redis.register_script(BEGIN)
        self._release = redis.register_script(RELEASE)
        self.threshold, self.window, self.duration = threshold, window, duration

    @staticmethod
    def _keys(account: str) -> list[str]:
        key = account.lower()  # emails differing only in case share one counter
        return [f"latchkey:signin-failures:{key}", f"latchkey:locked:{key}",
                f"latchkey:was-locked:{key}"]

    async def begin(self, account: str) -> tuple[int | None, bool]:
        try:
            n, ended = await self._begin(keys=self._keys(account),
                                         args=[self.window, self.threshold])
        except (RedisError, OSError) as exc:
            log.warning("lockout not checked: %s", type(exc).__name__)
            return 0, False
        return (None if n < 0 else int(n)), bool(ended)

    async def failed(self, account: str, attempt: int) -> bool:
        if attempt < self.threshold:
            return False
        failures, lock, was_locked = self._keys(account)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(lock, b"1", ex=self.duration, nx=True)
                pipe.set(was_locked, b"1", ex=30 * 86400)
                pipe.delete(failures)
                started, *_ = await pipe.execute()
        except (RedisError, OSError):
            return False
        return bool(started)

    async def release(self, account: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._release(keys=self._keys(account)[:1])

    async def succeeded(self, account: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._keys(account)[0])

    async def clear(self, account: str) -> bool:
        keys = self._keys(account)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.exists(keys[1])
                pipe.delete(*keys)
                locked, _ = await pipe.execute()
        except (RedisError, OSError):
            return False
        return bool(locked)
