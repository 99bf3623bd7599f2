"""A worker that stops within a bound: :class:`BoundedStop`, the base of the Procfile's worker
(worker/resilient.py).

arq's own stop on SIGTERM cancels the running jobs and the poll loop, then ``close()`` gathers
the jobs, removes the health-check key, runs ``on_shutdown`` and closes Redis, each without a
time limit. Seen on real processes: a job cancelled while its database transaction began kept
a pooled connection, and the asyncpg pool's ``close()`` (in ``on_shutdown``) waited for it
forever; a job that ended cancelled made the gather raise, skipping the rest (exit status 1,
rows left "sending", Redis keys that locked jobs for 30 min). Here:

* the first signal stops picking jobs; the cancelling waits for the end of the poll iteration
  under way (never halfway through claiming a job in Redis); later signals change nothing
  (honcho sends SIGINT and SIGTERM on Ctrl-C; a second cancel would cut short the jobs'
  hand-back of their messages);
* ``close()`` gives the cancelled jobs half of ``shutdown_grace`` to hand their messages back,
  cancelling those still running again every 0.5 s: Python 3.11's ``asyncio.wait_for`` loses
  a cancellation that arrives as the awaited future completes (CPython gh-86296, fixed in
  3.12), and aiosmtplib awaits every SMTP reply with it, so a job cancelled just as a reply
  came went on sending (seen: a stop that waited 5 s for a held DATA reply). The
  hand-back's writes survive repeated cancellation (db/transaction.to_completion). It then
  releases the jobs cancelled before they started, and runs each closing step within 90% of
  the grace (a step past that is cancelled: asyncpg then terminates its pool);
* in the process's own worker (``run()``) a watchdog thread ends the process with a logged
  error at ``shutdown_grace`` seconds, whatever else happens.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

log = logging.getLogger("latchkey.worker")

JOBS_SHARE, CLOSE_SHARE = 0.5, 0.9  # of the grace: when to stop waiting for jobs, for closing
LATEST_STOP = 1.0  # seconds: a poll iteration stuck on Redis is cut short after this
RECANCEL_EVERY = 0.5  # seconds between two cancellations of a job that is still running


def _exit_now(grace: float) -> None:
    """The watchdog's last resort: log, flush, and end the process with status 1."""
    log.error("the worker did not stop within %.0f s of the signal (SHUTDOWN_GRACE); "
              "exiting now", grace)
    for handler in [*logging.getLogger().handlers, *log.handlers]:
        handler.flush()
    sys.stderr.flush()
    os._exit(1)


class BoundedStop(Worker):
    """arq's Worker, stopped within ``shutdown_grace`` seconds of a signal (module
    docstring); ``run()`` alone arms the watchdog (an in-process test worker never exits)."""

    _stopping_since: float | None = None
    _watchdog: threading.Timer | None = None
    _armed = False
    _polling = False  # inside arq's poll iteration (claiming jobs in Redis, its heart beat)
    _stop_signal: signal.Signals | None = None  # received mid-iteration, acted on at its end

    def __init__(self, *args: Any, shutdown_grace: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shutdown_grace = shutdown_grace

    def run(self) -> None:
        self._armed = True
        super().run()

    def handle_sig(self, signum: signal.Signals) -> None:
        if self._stopping_since is not None:
            log.info("%s while stopping: already stopping, exit within %.0f s of the first "
                     "signal", signal.Signals(signum).name, self.shutdown_grace)
            return
        self._start_deadline()
        self.allow_pick_jobs = False
        if self._polling:
            self._stop_signal = signum
            self.loop.call_later(LATEST_STOP, self._stop)
            return
        super().handle_sig(signum)

    def _stop(self) -> None:
        if self._stop_signal is not None:
            signum, self._stop_signal = self._stop_signal, None
            super().handle_sig(signum)  # arq's: cancels the running jobs and the poll loop

    async def _poll_iteration(self) -> None:
        self._polling = True
        try:
            await super()._poll_iteration()
        finally:
            self._polling = False
            self._stop()

    def _start_deadline(self) -> None:
        if self._stopping_since is None:
            self._stopping_since = time.monotonic()
        if self._armed and self._watchdog is None:
            self._watchdog = threading.Timer(self.shutdown_grace, _exit_now,
                                             args=(self.shutdown_grace,))
            self._watchdog.daemon = True
            self._watchdog.start()

    def _left(self, share: float) -> float:
        """Seconds until ``share`` of the grace has passed since the stop began (>= 0)."""
        since = self._stopping_since if self._stopping_since is not None else time.monotonic()
        return max(0.0, since + share * self.shutdown_grace - time.monotonic())

    async def close(self) -> None:
        """arq's close, bounded and tolerant (module docstring); also when Redis is away (the
        health-check key then expires by itself, and on_shutdown still runs)."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        self._start_deadline()
        try:
            if self._pool is None:
                return
            await self._wait_for_jobs()
            await self._bounded("removing the health-check key",
                                lambda: self.pool.delete(self.health_check_key))
            if self.on_shutdown:
                await self._bounded("on_shutdown", lambda: self.on_shutdown(self.ctx))
            await self._bounded("closing the Redis pool",
                                lambda: self.pool.close(close_connection_pool=True))
            self._pool = None
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()

    async def _wait_for_jobs(self) -> None:
        tasks = dict(self.tasks)
        running = {task for task in tasks.values() if not task.done()}
        while running and (left := self._left(JOBS_SHARE)) > 0:
            _, running = await asyncio.wait(running, timeout=min(RECANCEL_EVERY, left))
            for job in self.job_tasks.values():  # a cancellation Python 3.11 lost: again
                if not job.done():
                    job.cancel()
        for task in tasks.values():  # what they raised was logged by arq: looked at here
            if task.done() and not task.cancelled():
                task.exception()
        if running:
            log.error("%d jobs still running %.1f s after the stop began; closing without "
                      "them (the sweep hands their messages to the next worker)",
                      len(running), JOBS_SHARE * self.shutdown_grace)
        # A job cancelled outside its function (before it started, or while arq fetched it)
        # ends without arq removing its in-progress key, which would keep every worker off
        # it until the key expires (the longest job timeout, 30 min): removed here, so the
        # next worker runs it at once.
        unfinished = [in_progress_key_prefix + job_id for job_id, task in tasks.items()
                      if task.cancelled()]
        if unfinished:
            await self._bounded("releasing cancelled jobs",
                                lambda: self.pool.delete(*unfinished))

    async def _bounded(self, what: str, step: Callable[[], Awaitable[Any]]) -> None:
        """Await one closing step until 90% of the grace; the deadline or Redis being away
        skips it with a log line, and the next step runs."""
        try:
            await asyncio.wait_for(step(), timeout=self._left(CLOSE_SHARE))
        except TimeoutError:
            log.error("stopping: %s did not finish in time; skipped so the worker can exit",
                      what)
        except (RedisError, OSError) as exc:
            log.warning("stopping: %s failed (%s); Redis is away", what, type(exc).__name__)
