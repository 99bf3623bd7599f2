"""Admission control for password hashing: a bounded queue that sheds load with 503.

bcrypt is the one CPU-bound step of the API. Without a bound, a burst beyond what the cores can
hash queues without limit: every request waits past its client's timeout and the server keeps
hashing for clients that have gone. So, like Envoy's admission control and Keycloak's bounded
hashing executor, at most ``concurrency`` hashes run at once and a request that could not
*start* within ``max_wait`` seconds is refused at once with ``Overloaded`` (503 + Retry-After,
RFC 9110 §15.6.4), before anything was changed. The wait is estimated from the queue length
and an EWMA of the measured slot hold time, so a hopeless request is refused in microseconds
instead of after waiting; a waiter whose deadline still passes is refused then. A waiter whose
client disconnects (the HTTP layer sets :data:`client_gone`) leaves the queue unhashed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar

from domain.errors import Overloaded

log = logging.getLogger("latchkey.hashing")

client_gone: ContextVar[Callable[[], Awaitable[object]] | None] = ContextVar(
    "latchkey_client_gone", default=None)
"""Set per request by the HTTP layer (api/middleware.py): a callable whose awaitable completes
when the client has disconnected. Unset (tests in-process, the worker): nobody is watched."""

EWMA_WEIGHT = 0.2  # weight of the newest hold time: follows a CPU squeeze within ~5 hashes
QUIET_SECONDS = 3.0  # an episode ends after this long without a refusal (no flapping logs)
MAX_RETRY_AFTER = 60


class Hold:
    """One held slot. measured: whether its hold time feeds the wait estimate."""

    __slots__ = ("measured",)

    def __init__(self, measured: bool) -> None:
        self.measured = measured


class HashAdmission:
    """At most ``concurrency`` holders at once, FIFO waiters, refusal instead of a long wait.

    concurrency: slots (bcrypt threads). max_wait: seconds a request may wait for a slot
    (``math.inf``: never refuse). clock: monotonic seconds (injectable for tests).
    Counters for metrics: ``refused_total`` (Overloaded raised), ``abandoned_total`` (waiters
    whose client left).
    """

    def __init__(self, *, concurrency: int, max_wait: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if concurrency < 1 or max_wait <= 0:
            raise ValueError("concurrency must be >= 1 and max_wait > 0")
        self.concurrency, self.max_wait, self._clock = concurrency, max_wait, clock
        self.hold_seconds: float | None = None  # EWMA of slot hold time; None until measured
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.refused_total = self.abandoned_total = 0
        self._episode: tuple[float, int] | None = None  # (started at, refused so far)
        self._last_refusal = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def queued(self) -> int:
        """Waiters; every future in the deque is pending (granted ones are popped, leavers
        removed)."""
        return len(self._waiters)

    def estimated_wait(self, ahead: int | None = None) -> float:
        """Seconds until a newcomer behind ``ahead`` waiters (default: all) gets a slot: each
        of the ``concurrency`` slots frees once per hold time, so ``ahead + 1`` releases take
        (ahead + 1) / concurrency hold times. 0 while a slot is free or nothing is measured."""
        if self.running < self.concurrency or self.hold_seconds is None:
            return 0.0
        ahead = self.queued if ahead is None else ahead
        return (ahead + 1) / self.concurrency * self.hold_seconds

    def observe(self, seconds: float) -> None:
        """Feed one measured hold time (seconds) into the EWMA."""
        previous = self.hold_seconds
        self.hold_seconds = seconds if previous is None else (
            previous + EWMA_WEIGHT * (seconds - previous))

    @asynccontextmanager
    async def slot(self, *, measured: bool = True) -> AsyncIterator[Hold]:
        """Hold one slot for the body of the ``async with``; its hold time feeds the wait
        estimate unless the body sets ``hold.measured = False`` (``measured``: the start
        value) — a turn that never hashed (a locked account) must not make hashing look fast,
        or floods of such turns would keep the instant refusal from ever firing.

        raises Overloaded when the estimated wait exceeds ``max_wait`` (at once) or the wait
        reached it; asyncio.CancelledError when the client left while queued. Either way the
        body did not run.
        """
        await self._acquire()
        started = self._clock()
        hold = Hold(measured)
        try:
            yield hold
        finally:
            if hold.measured:
                self.observe(self._clock() - started)
            self._release()

    async def _acquire(self) -> None:
        now = self._clock()
        if self.running < self.concurrency and not self.queued:
            self.running += 1
            self._check_episode(now)
            return
        # Admitted only with one slot interval to spare: hold times vary (other jobs take the
        # cores), and a request admitted right at the edge would often be refused after all,
        # at its deadline, having waited in vain.
        if self.estimated_wait(self.queued + 1) > self.max_wait:
            self._refuse(now)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        gone = client_gone.get()
        watcher = asyncio.ensure_future(gone()) if gone is not None else None
        try:
            timeout = None if math.isinf(self.max_wait) else self.max_wait
            await asyncio.wait([waiter] if watcher is None else [waiter, watcher],
                               timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            self._leave(waiter)
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
        if _completed(watcher):  # checked first: a slot granted at that instant goes on
            self._leave(waiter)
            self.abandoned_total += 1
            raise asyncio.CancelledError("client disconnected while queued for a hash")
        if waiter.done():
            self._check_episode(self._clock())
            return  # the releasing holder handed its slot to us
        self._leave(waiter)
        self._refuse(self._clock())

    def _leave(self, waiter: asyncio.Future[None]) -> None:
        """Take ``waiter`` out of the queue; a slot handed to it meanwhile goes on."""
        if waiter.done() and not waiter.cancelled():
            self._release()
        else:
            waiter.cancel()
        with suppress(ValueError):  # already popped by a release
            self._waiters.remove(waiter)

    def _release(self) -> None:
        while self._waiters:  # hand the slot straight to the oldest live waiter (FIFO)
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1

    def _refuse(self, now: float) -> None:
        """Count, log the episode's start, raise Overloaded(seconds to drain the queue)."""
        self.refused_total += 1
        self._last_refusal = now
        if self._episode is None:
            self._episode = (now, 0)
            log.warning("password hashing overloaded: refusing with 503 what cannot start "
                        "within HASH_QUEUE_MAX_WAIT=%gs (%d hashing, %d queued, %.2fs a hash)",
                        self.max_wait, self.running, self.queued, self.hold_seconds or 0.0)
            self._arm_timer(QUIET_SECONDS)
        self._episode = (self._episode[0], self._episode[1] + 1)
        drain = self.estimated_wait(max(0, self.queued - 1))
        raise Overloaded(min(MAX_RETRY_AFTER, max(1, math.ceil(drain))))

    def _arm_timer(self, delay: float) -> None:
        """Close the episode even if no request comes after it."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self._clock()
        self._check_episode(now)
        if self._episode is not None:  # refused since: look again when quiet could be over
            self._arm_timer(max(0.1, self._last_refusal + QUIET_SECONDS - now))

    def _check_episode(self, now: float) -> None:
        """Log the end of a shedding episode once nothing was refused for QUIET_SECONDS."""
        if self._episode is None or now - self._last_refusal < QUIET_SECONDS:
            return
        started, refused = self._episode
        self._episode = None
        log.warning("password hashing overload ended: %d requests refused in %.1fs",
                    refused, self._last_refusal - started)

    def close(self) -> None:
        """Stop the episode timer (process shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _completed(watcher: asyncio.Future[object] | None) -> bool:
    """True when the client-gone watcher finished normally (an error in it counts as no)."""
    if watcher is None or not watcher.done() or watcher.cancelled():
        return False
    return watcher.exception() is None
