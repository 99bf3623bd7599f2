"""Request ids, structured log lines and Prometheus metrics, on the real app and worker.

Requests go through uvicorn's own ProxyHeadersMiddleware (the one ``--proxy-headers
--forwarded-allow-ips`` installs), so "came through a trusted proxy" is decided by uvicorn's
code, not by a stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from domain.request_context import request_id
from domain.settings import Settings
from scripts.embedded_redis import free_port
from scripts.logs import formatter
from tests.support import (
    PASSWORD,
    MutableClock,
    lifespan,
    register,
    running_worker,
    sign_in,
    wait_mail,
)

TOKEN = "metrics-token-for-the-tests-0123456789"
PROXY, STRANGER = ("127.0.0.1", 40000), ("198.51.100.9", 51000)
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@contextlib.asynccontextmanager
async def system(settings: Settings, clock: MutableClock, *, worker: bool = True
                 ) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The app behind uvicorn's proxy-headers middleware (trusting 127.0.0.1), optionally a
    real worker, and clients connecting from the trusted proxy and from a stranger."""
    from api.app import create_app

    app = create_app(settings, clock)
    behind_uvicorn = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(app))
        if worker:
            await stack.enter_async_context(running_worker(settings, clock))
        clients = {}
        for name, peer in (("proxy", PROXY), ("stranger", STRANGER)):
            transport = httpx.ASGITransport(app=behind_uvicorn, client=peer)  # type: ignore[arg-type]
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        yield clients


@contextlib.contextmanager
def json_log() -> io.StringIO:
    """Log lines of ``latchkey.*`` in the production (JSON) format, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    ours = logging.getLogger("latchkey")
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a text exposition."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict:
    response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


async def test_a_request_id_is_generated_and_echoed(settings, clock):
    async with system(settings, clock, worker=False) as c:
        first = await c["stranger"].get("/health")
        second = await c["proxy"].get("/v1/auth/profile")  # a problem response has one too
    assert HEX32.match(first.headers["x-request-id"])
    assert HEX32.match(second.headers["x-request-id"]) and second.status_code == 401
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_client_request_id_is_taken_only_through_a_trusted_proxy(settings, clock):
    forwarded = {"x-forwarded-for": "203.0.113.7"}
    async with system(settings, clock, worker=False) as c:
        trusted = await c["proxy"].get("/health", headers={**forwarded, "x-request-id": "lb-7.a_Z"})
        direct = await c["stranger"].get("/health", headers={**forwarded, "x-request-id": "lb-8"})
        no_proxy = await c["proxy"].get("/health", headers={"x-request-id": "lb-9"})
        malformed = ("a b", "x" * 65, "a\\nb", "", "ü".encode(), "a;b", "<script>")
        bad = [(await c["proxy"].get("/health", headers={**forwarded, "x-request-id": rid}))
               .headers["x-request-id"] for rid in malformed]
        longest = await c["proxy"].get("/health", headers={**forwarded, "x-request-id": "y" * 64})
    assert trusted.headers["x-request-id"] == "lb-7.a_Z"
    assert HEX32.match(direct.headers["x-request-id"])  # a stranger cannot pick log ids
    assert HEX32.match(no_proxy.headers["x-request-id"])  # not forwarded: not a proxy's id
    assert all(HEX32.match(rid) for rid in bad), bad
    assert longest.headers["x-request-id"] == "y" * 64


async def test_the_request_id_reaches_the_workers_log_line_about_the_message(
        settings, clock, mailbox):
    forwarded = {"x-forwarded-for": "203.0.113.7", "x-request-id": "signup-trace-1"}
    with json_log() as log:
        async with system(settings, clock) as c:
            created = await c["proxy"].post("/v1/auth/register", headers=forwarded,
                                            json={"email": "ray@example.com",
                                                  "password": PASSWORD})
            assert created.status_code == 201, created.text
            assert created.headers["x-request-id"] == "signup-trace-1"
            await wait_mail(mailbox, "ray@example.com")
            other = await c["stranger"].post("/v1/auth/register", json={
                "email": "sam@example.com", "password": PASSWORD})
            await wait_mail(mailbox, "sam@example.com")
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    sent = [line for line in lines if line.get("outcome") == "sent"]
    assert len(sent) == 2, lines
    ray = next(line for line in sent if line["request_id"] == "signup-trace-1")
    assert ray["logger"] == "latchkey.worker" and ray["level"] == "info"
    assert ray["kind"] == "verify_email" and ray["channel"] == "email"
    assert ray["event"].startswith(f"message {ray['message_id']} sent")
    sam = next(line for line in sent if line is not ray)
    assert sam["request_id"] == other.headers["x-request-id"]
    assert "ray@example.com" not in log.getvalue()  # no recipient, no link in the line


def test_json_lines_carry_event_level_and_request_id():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("tests.observability.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = request_id.set("rid-123")
        logger.warning("rate limit %s not applied: %s", "signin", "TimeoutError")
        request_id.reset(token)
        logger.warning("outside a request")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert inside["event"] == "rate limit signin not applied: TimeoutError"
    assert inside["level"] == "warning" and inside["request_id"] == "rid-123"
    assert inside["logger"] == "tests.observability.json" and "timestamp" in inside
    assert outside["request_id"] is None


async def test_metrics_are_off_without_a_token_and_need_the_right_one(settings, clock):
    async with system(settings, clock, worker=False) as c:
        assert (await c["proxy"].get("/metrics")).status_code == 404
    async with system(settings.replace(metrics_token=TOKEN), clock, worker=False) as c:
        missing = await c["proxy"].get("/metrics")
        basic = await c["proxy"].get("/metrics", headers={"authorization": f"Basic {TOKEN}"})
        wrong = await c["proxy"].get("/metrics", headers={
            "authorization": f"Bearer {TOKEN[:-1]}x"})
        right = await c["proxy"].get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 401 and basic.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert wrong.status_code == 403
    assert right.status_code == 200 and "latchkey_http_requests_total" in right.text


async def test_metrics_after_some_traffic(settings, clock, mailbox):
    settings = settings.replace(metrics_token=TOKEN, rate_limit_register="2/hour",
                                lockout_threshold=2)
    async with system(settings, clock, worker=False) as c:
        api = c["proxy"]
        before = await scrape(api)
        for n in range(3):  # the third is refused by RATE_LIMIT_REGISTER
            answer = await register(api, f"m{n}@example.com")
        assert answer.status_code == 429
        for _ in range(2):  # the second wrong password starts a lockout
            assert (await sign_in(api, "m0@example.com", "wrong password!!")).status_code == 401
        assert (await api.get("/v1/sessions/not-a-uuid/x9f3secret")).status_code == 404
        clock.advance(seconds=42)
        after = await scrape(api)
        # no request id, path id or token becomes a label value
        text = (await api.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})).text

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("latchkey_rate_limit_refusals_total", limit="register") == 1
    assert grew("latchkey_lockouts_total") == 1
    assert grew("latchkey_http_requests_total", method="POST", route="/v1/auth/register",
                status="201") == 2
    assert grew("latchkey_http_requests_total", method="POST", route="/v1/auth/register",
                status="429") == 1
    assert grew("latchkey_http_requests_total", method="POST", route="/v1/auth/signin",
                status="401") == 2
    assert grew("latchkey_http_requests_total", method="GET", route="unmatched",
                status="404") == 1
    assert grew("latchkey_http_request_duration_seconds_count", method="POST",
                route="/v1/auth/register") == 3
    # two verification emails committed, no worker running: both pending, 42 s old
    assert value(after, "latchkey_outbox_pending_messages") == 2
    assert value(after, "latchkey_outbox_oldest_pending_age_seconds") == pytest.approx(42, abs=1)
    assert ("latchkey_overload_refusals_total", frozenset()) in after
    assert "x9f3secret" not in text and "not-a-uuid" not in text


async def worker_answer(client: httpx.AsyncClient) -> httpx.Response:
    """GET /metrics of the worker, once its start-up has opened the port."""
    for _ in range(100):
        try:
            return await client.get("/metrics")
        except httpx.ConnectError:
            await asyncio.sleep(0.05)
    raise TimeoutError("the worker's metrics port did not open")


async def test_the_worker_serves_its_own_metrics(settings, clock, mailbox):
    port = free_port()
    settings = settings.replace(worker_metrics_port=port)
    async with system(settings, clock) as c, httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}") as worker_port:
        before = samples((await worker_answer(worker_port)).text)
        assert (await register(c["proxy"], "wes@example.com")).status_code == 201
        await wait_mail(mailbox, "wes@example.com")
        sent = ("latchkey_jobs_total", frozenset({("kind", "verify_email"), ("outcome", "sent")}))
        for _ in range(100):  # the job ends just after the SMTP server took the mail
            response = await worker_port.get("/metrics")
            after = samples(response.text)
            if after.get(sent, 0) > before.get(sent, 0):
                break
            await asyncio.sleep(0.05)
        elsewhere = await worker_port.get("/")
    assert response.status_code == 200 and elsewhere.status_code == 404
    assert after.get(sent, 0) - before.get(sent, 0) == 1
    assert value(after, "latchkey_outbox_pending_messages") == 0
