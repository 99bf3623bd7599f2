"""The queue contract shared by the API (producer) and the worker (consumer).

Job id = outbox message id, so enqueuing a message that is already queued is a no-op.
Payloads carry only the id: secrets never travel through Redis (ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from arq.connections import ArqRedis
from redis.exceptions import RedisError

DELIVER_MESSAGE = "deliver_message"

log = logging.getLogger("latchkey.queue")


async def enqueue_messages(redis: ArqRedis, message_ids: Sequence[uuid.UUID]) -> int:
    """Enqueue ``deliver_message(id)`` for each id; returns how many were newly queued.

    Never raises for Redis trouble: the message stays pending in the outbox and the sweep
    cron re-enqueues it once Redis answers again.
    """
    queued = 0
    for message_id in message_ids:
        try:
            job = await redis.enqueue_job(DELIVER_MESSAGE, str(message_id),
                                          _job_id=str(message_id))
        except (RedisError, OSError) as exc:
            log.warning("could not enqueue message %s (%s); the outbox sweep will retry",
                        message_id, type(exc).__name__)
            continue
        queued += job is not None
    return queued


ENQUEUE_TIMEOUT = 2.0  # seconds a committed request may wait for Redis to take its jobs


class ArqDispatcher:
    """domain.services.Dispatcher backed by an arq Redis pool (the API's producer side).
    A Redis that is down fails at once; one that hangs is given ENQUEUE_TIMEOUT seconds, then
    the request goes on and the outbox sweep enqueues the messages later."""

    def __init__(self, redis: ArqRedis, timeout: float = ENQUEUE_TIMEOUT) -> None:
        self._redis = redis
        self._timeout = timeout

    async def __call__(self, message_ids: Sequence[uuid.UUID]) -> None:
        try:
            await asyncio.wait_for(enqueue_messages(self._redis, message_ids), self._timeout)
        except TimeoutError:
            log.warning("enqueue of %d message(s) timed out after %.1f s; the outbox sweep "
                        "will retry", len(message_ids), self._timeout)
