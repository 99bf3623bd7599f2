"""Request ids and Prometheus metrics of the web process, and its ``/metrics`` route.

:class:`Observed` wraps the whole app (outside routing and error handling, so 404s and
problem responses count too). Per request it costs a few microseconds and logs nothing
(there is no access log on purpose): it picks the request id, sets it in
:data:`domain.request_context.request_id` (every log line of the request carries it; the
unit of work copies it into the outbox rows), echoes it as ``X-Request-ID``, and counts the
request by method, route template (``/v1/sessions/{session_id:uuid}``, never the raw path:
ids and tokens would explode the label set) and status, with its latency.

Counters of the use cases come from thin wrappers of the rate limiter and the lockout
(:func:`observe_services`) and from ``HashAdmission.refused_total``.
"""

from __future__ import annotations

import hmac
import os
import re
import time
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from domain.errors import Forbidden, NotFound, Unauthenticated
from domain.passwords.admission import HashAdmission
from domain.request_context import request_id
from domain.services import Lockout, RateLimiter, Services
from scripts.metrics import CONTENT_TYPE, exposition

HTTP_REQUESTS = Counter("latchkey_http_requests", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "latchkey_http_request_duration_seconds", "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RATE_LIMIT_REFUSALS = Counter("latchkey_rate_limit_refusals",
                              "Requests refused by a rate limit (429)", ["limit"])
LOCKOUTS = Counter("latchkey_lockouts", "Account lockouts started by failed sign-ins")
OVERLOAD_REFUSALS = Counter("latchkey_overload_refusals",
                            "Requests refused because password hashing was overloaded (503)")

SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: one label value for every unknown path


def forwarded_by_trusted_proxy(scope: Scope) -> bool:
    """Whether uvicorn took this request's client address from ``X-Forwarded-For``, which it
    does only for connections from ``--forwarded-allow-ips``: an address from the header has
    no port (0), a TCP peer always has one. (A proxy that forwards ``ip:port`` entries is not
    recognised; its requests get a fresh id, which is safe.)"""
    client = scope.get("client")
    return client is not None and client[1] == 0


def pick_request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when a trusted proxy forwarded the request and it is a
    sane token (≤ 64 of ``[A-Za-z0-9._-]``: nothing to forge a log line with), else a new
    uuid4 hex."""
    if forwarded_by_trusted_proxy(scope):
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if SANE_ID.fullmatch(value):
                    return value.decode("ascii")
                break
    return uuid4_hex()


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, like ``uuid.uuid4().hex`` in a third of
    its time (no UUID object): RFC 9562 §5.4, version and variant bits set on 16 random
    bytes."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


class Observed:
    """ASGI wrapper of the Litestar app's handler: request id and HTTP metrics.

    ``admission``: the password-hashing queue, whose refusals are copied into
    ``latchkey_overload_refusals_total`` after each 503 (set when the app has started).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.admission: HashAdmission | None = None
        self._refused_seen = 0
        self._counts: dict[tuple[str, str, int], Any] = {}  # label children, made once
        self._latencies: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = pick_request_id(scope)
        header = (b"x-request-id", rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500
            raise
        finally:
            request_id.reset(token)
            self._record(scope, status or 499, time.perf_counter() - started)  # 499: client left

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = scope.get("path_template") or UNMATCHED
        counter = self._counts.get((method, route, status))
        if counter is None:
            counter = self._counts[(method, route, status)] = HTTP_REQUESTS.labels(
                method, route, str(status))
        counter.inc()
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = self._latencies[(method, route)] = HTTP_LATENCY.labels(method, route)
        latency.observe(seconds)
        if status == 503:
            self.sync_refusals()

    def sync_refusals(self) -> None:
        """Copy the hashing queue's refusals made since the last call into the counter."""
        if self.admission is not None and self.admission.refused_total != self._refused_seen:
            OVERLOAD_REFUSALS.inc(self.admission.refused_total - self._refused_seen)
            self._refused_seen = self.admission.refused_total


class CountingRateLimiter:
    """The rate limiter, counting refusals by limit name (the first part of the key:
    ``RateLimit.value`` or a cap's name such as ``sms_daily_cap``)."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner

    async def hit(self, limit: str, *key: str) -> int | None:
        retry_after = await self.inner.hit(limit, *key)
        if retry_after is not None:
            RATE_LIMIT_REFUSALS.labels(key[0] if key else limit).inc()
        return retry_after


class CountingLockout:
    """The sign-in lockout, counting the failures that start a lockout."""

    def __init__(self, inner: Lockout) -> None:
        self.inner = inner

    async def begin(self, account: str) -> tuple[int | None, bool]:
        return await self.inner.begin(account)

    async def failed(self, account: str, attempt: int) -> bool:
        started = await self.inner.failed(account, attempt)
        if started:
            LOCKOUTS.inc()
        return started

    async def release(self, account: str) -> None:
        await self.inner.release(account)

    async def succeeded(self, account: str) -> None:
        await self.inner.succeeded(account)

    async def clear(self, account: str) -> bool:
        return await self.inner.clear(account)


def observe(app: Any, services: Services) -> None:
    """At start-up: count the rate limiter's refusals and the lockouts of ``services``, and
    let ``app``'s :class:`Observed` handler read the hashing queue's refusals."""
    services.rate_limiter = CountingRateLimiter(services.rate_limiter)
    services.lockout = CountingLockout(services.lockout)
    if isinstance(app.asgi_handler, Observed):
        app.asgi_handler.admission = services.hasher.admission


@get("/metrics", include_in_schema=False)
async def metrics(request: Request, state: State) -> Response[bytes]:
    """Prometheus metrics: 404 unless ``METRICS_TOKEN`` is set, then only with
    ``Authorization: Bearer <METRICS_TOKEN>`` (401 without a token, 403 with another one)."""
    services: Services = state.services
    expected = services.settings.metrics_token
    if not expected:
        raise NotFound()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthenticated("A bearer token is required.")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Forbidden("This token may not read the metrics.")
    handler = request.app.asgi_handler
    if isinstance(handler, Observed):
        handler.sync_refusals()
    body = await exposition(services.clock())
    return Response(body, media_type=CONTENT_TYPE)
