"""The API's enqueue after commit is bounded: a Redis that accepts connections but never
answers (hung, not down) holds a request for ENQUEUE_TIMEOUT at most (issue 10)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

from arq.connections import ArqRedis

from db.redis.queue import ArqDispatcher


async def test_a_hung_redis_holds_the_enqueue_for_the_timeout_only():
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # accepts (the kernel does), never answers
    port = hung.getsockname()[1]
    redis = ArqRedis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        started = time.monotonic()
        # must return (not raise) well before the outer bound, which turns a hang into a failure
        await asyncio.wait_for(ArqDispatcher(redis, timeout=0.5)([uuid.uuid4()]), 5)
        assert time.monotonic() - started < 1.5
    finally:
        await asyncio.wait_for(redis.aclose(), 2)
        hung.close()
