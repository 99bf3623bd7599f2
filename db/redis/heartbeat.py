"""Worker heartbeats in Redis, for ``/ready``: a sorted set of worker id -> unix time of its
last poll. Any number of workers write; readiness asks only for the newest."""

from __future__ import annotations

from redis.asyncio import Redis

KEY = "latchkey:worker-heartbeats"
FORGET_AFTER = 86400  # seconds: entries of workers gone this long are dropped


async def beat(redis: Redis, worker_id: str, now: float) -> None:
    """Record that ``worker_id`` polled at ``now`` (unix seconds). raises RedisError."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(KEY, {worker_id: now})
        pipe.zremrangebyscore(KEY, 0, now - FORGET_AFTER)
        await pipe.execute()


async def newest(redis: Redis) -> float | None:
    """Unix time of the most recent heartbeat of any worker, or None. raises RedisError."""
    found = await redis.zrevrange(KEY, 0, 0, withscores=True)
    return float(found[0][1]) if found else None
