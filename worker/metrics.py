"""The worker's metrics, its own metrics port, and the request id of the message it delivers.

* ``latchkey_jobs_total{kind, outcome}``: delivery jobs by message kind and outcome (sent,
  retry, failed, skipped, routed). ``kind`` is the outbox row's kind once the message reached
  a channel, else ``unknown`` (a skipped duplicate, a routed alert: the row is not read again
  just for a label).
* the outbox gauges, computed at scrape time (scripts/metrics.py).
* ``WORKER_METRICS_PORT`` (0: off) serves ``GET /metrics`` on ``WORKER_METRICS_HOST``
  (127.0.0.1 unless widened), from the worker's own event loop, so the outbox query uses its
  database pool; no token: keep the port private.

:class:`ObservedSender` wraps the channel sender: while a job delivers a message it sets
:data:`domain.request_context.request_id` to the id of the request that queued the message
(the unit of work put it in the row's data), so the worker's log lines about the message
carry it, and it writes one line per delivery outcome.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from arq import Retry
from prometheus_client import Counter

from domain.clock import Clock
from domain.messages.delivery import OutgoingMessage
from domain.request_context import OUTBOX_KEY, request_id
from scripts.metrics import CONTENT_TYPE, exposition

log = logging.getLogger("latchkey.worker")

JOBS = Counter("latchkey_jobs", "Delivery jobs by message kind and outcome", ["kind", "outcome"])
OUTCOMES = frozenset({"sent", "retry", "failed", "skipped", "routed"})

# what the running job's sender learnt about its message: (id, kind, channel); per job task
_current: ContextVar[tuple[str, str, str] | None] = ContextVar("latchkey_job_message",
                                                               default=None)


class ObservedSender:
    """Wraps the worker's Sender (``await sender(message)``, ``await sender.close()``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, message: OutgoingMessage) -> str | None:
        # Set in the job's own task: later lines of this job carry it, other jobs never do.
        request_id.set(message.data.get(OUTBOX_KEY))
        _current.set((str(message.id), message.kind.name, message.channel))
        return await self.inner(message)

    async def close(self) -> None:
        await self.inner.close()


def observed_job(job: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[str]]:
    """Wraps the ``deliver_message`` job: counts its outcome (its return value, or ``retry``
    when it raises arq's Retry or a stopping worker cancels it: arq runs it again) and logs
    one line for a message that reached a channel."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], message_id: str) -> str:
        outcome = "failed"
        try:
            outcome = await job(ctx, message_id)
            return outcome
        except (Retry, asyncio.CancelledError):  # cancelled: the worker is stopping, it runs again
            outcome = "retry"
            raise
        finally:
            seen = _current.get()
            kind = seen[1] if seen else "unknown"
            JOBS.labels(kind, outcome if outcome in OUTCOMES else "failed").inc()
            if seen:
                log.info("message %s %s (%s by %s)", seen[0], outcome, seen[1], seen[2],
                         extra={"message_id": seen[0], "kind": seen[1], "channel": seen[2],
                                "outcome": outcome, "attempt": ctx.get("job_try", 1)})
            _current.set(None)
            request_id.set(None)

    return run


class MetricsServer:
    """``GET /metrics`` over plain HTTP/1.1 on the worker's loop (one response per
    connection); anything else is 404."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._answer, host, port)
        log.info("worker metrics on http://%s:%d/metrics", host, port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, _, rest = request.partition(b" ")
            path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if method == b"GET" and path == b"/metrics":
                status, body, kind = b"200 OK", await exposition(self.clock()), CONTENT_TYPE
            else:
                status, body, kind = b"404 Not Found", b"not found\n", "text/plain"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + kind.encode()
                         + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that went away or sent garbage gets nothing
        finally:
            writer.close()
