"""arq's worker, kept alive through Redis outages, and stopped within a bound.

arq's own worker exits with ``redis.exceptions.ConnectionError`` the moment Redis goes away
(seen on real processes: a few seconds' Redis restart stopped every delivery until a person
restarted the worker, and under honcho took the whole dev system down). Here the poll loop and
the start-up wait for Redis instead: one warning when an outage begins, one line when it ends,
a capped backoff in between. Jobs in flight fail on their own and are retried; messages
committed meanwhile stay pending in the outbox and the sweep re-enqueues them.

On SIGTERM (or SIGINT) arq cancels the running jobs; a message cancelled mid-send goes back to
pending at once (domain/messages/delivery.py) and arq leaves its job queued for the next
worker. The process exits within ``SHUTDOWN_GRACE`` seconds (10) whatever happens
(worker/stopping.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any

import aiosqlite.core
from arq.connections import create_pool
from redis.exceptions import RedisError

from db.redis import heartbeat
from worker.stopping import BoundedStop

log = logging.getLogger("latchkey.worker")

OUTAGE_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
BACKOFF_START, BACKOFF_MAX = 0.2, 5.0  # seconds between two tries while Redis is away
HEARTBEAT_EVERY = 5.0  # seconds between two heartbeats (``/ready`` checks their age)


class _DaemonThread(threading.Thread):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "daemon": True})


def daemon_sqlite_threads() -> None:
    """Make every aiosqlite connection thread started from now on a daemon thread.

    Why: aiosqlite runs each SQLite connection in a non-daemon thread, stopped only when the
    connection is closed. db/transaction.py closes every transaction's connection, but a
    close waits behind the statement the thread is running: a job cancelled on SIGTERM
    while its query waits for SQLite's write lock (busy timeout 30 s) would keep the
    interpreter waiting at exit until the busy timeout ends. A daemon thread dies with the
    process; SQLite's journal rolls back whatever it had not committed."""
    if getattr(aiosqlite.core, "Thread", None) is threading.Thread:
        aiosqlite.core.Thread = _DaemonThread  # type: ignore[attr-defined,misc]


class ResilientWorker(BoundedStop):
    """A :class:`arq.worker.Worker` whose start-up and poll loop wait out Redis outages of
    any length (backoff 0.2 s doubling to 5 s) instead of exiting, and records a heartbeat
    every 5 s while it polls (db/redis/heartbeat.py). ``shutdown_grace``: seconds from a
    signal to the exit, at most (worker/stopping.py)."""

    _outage_since: float | None = None
    _backoff: float = BACKOFF_START
    _last_beat: float = 0.0
    _id = f"{socket.gethostname()}:{os.getpid()}"

    async def _outage(self, exc: BaseException) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("Redis is unavailable (%s); waiting for it, jobs resume when it is back",
                        type(exc).__name__)
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    def _recovered(self) -> None:
        if self._outage_since is not None:
            log.info("Redis is back after %.1f s; resuming", time.monotonic() - self._outage_since)
            self._outage_since, self._backoff = None, BACKOFF_START

    def run(self) -> None:
        """arq's blocking run (signals handled: SIGINT/SIGTERM cancel the running jobs);
        the process exits within ``shutdown_grace`` seconds of the first signal."""
        daemon_sqlite_threads()
        super().run()

    async def main(self) -> None:
        while self._pool is None:  # arq gives up after 5 tries; a worker keeps waiting
            try:
                self._pool = await create_pool(
                    self.redis_settings, job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer, default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms)
            except OUTAGE_ERRORS as exc:
                await self._outage(exc)
        self._recovered()
        await super().main()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
            if time.monotonic() - self._last_beat >= HEARTBEAT_EVERY:
                await heartbeat.beat(self.pool, self._id, time.time())
                self._last_beat = time.monotonic()
        except OUTAGE_ERRORS as exc:
            await self._outage(exc)
            return
        self._recovered()
