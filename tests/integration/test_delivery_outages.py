"""The worker through database outages and stops: a job that cannot reach the database is
retried with backoff and delivered once it is back (nothing sent before the claim); a send
cancelled by a stopping worker hands its message back to pending at once and the next worker
delivers it once; a real ``python -m worker`` whose job waits on a locked database exits
within moments of SIGTERM (on SQLite too).

Outages are real: on PostgreSQL the app and worker reach the server through a TCP proxy the
test cuts (open connections aborted, new ones dropped); on SQLite the test holds the write
lock (BEGIN EXCLUSIVE) with the busy timeout shortened so the worker's claim fails fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from redis.asyncio import Redis

from db import engine
from db.repositories import outbox
from db.tables import OutboxMessage
from domain.settings import Settings
from tests.environment import DATABASE_URL
from tests.support import register, running_worker, serving, token_of, wait_mail
from worker.resilient import daemon_sqlite_threads

ROOT = Path(__file__).resolve().parents[2]
SQLITE = DATABASE_URL.startswith("sqlite")


class CuttableProxy:
    """A TCP proxy to the database server, on an event loop of its own thread (Piccolo's
    engine checks the server version synchronously, blocking the test's loop, when the
    engine is built). ``cut()`` aborts every open connection and drops new ones until
    ``restore()``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cut_off = False
        self.links: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.listen_port = 0

    def _call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(10)

    def start(self) -> CuttableProxy:
        self.thread.start()
        self.server = self._call(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.listen_port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.links += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.transport.abort()

    async def _cut(self) -> None:
        self.cut_off = True
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Outage:
    """Takes the database away from the worker (``begin``) and gives it back (``end``);
    ``status(recipient)`` reads a message's row while it is away."""

    def __init__(self, proxy: CuttableProxy | None) -> None:
        self.proxy = proxy
        self.lock: sqlite3.Connection | None = None

    async def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
            return
        # Piccolo leaves a SQLite connection open when its BEGIN fails ("database is locked"),
        # and that connection's aiosqlite thread would keep this test process from exiting:
        # daemon threads here, as in the worker process (worker/resilient.py).
        daemon_sqlite_threads()
        engine.current().connection_kwargs["timeout"] = 0.2  # type: ignore[attr-defined]
        self.lock = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"),
                                    isolation_level=None)
        self.lock.execute("BEGIN EXCLUSIVE")

    async def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        elif self.lock is not None:
            self.lock.rollback()
            self.lock.close()
            self.lock = None

    async def status(self, recipient: str) -> tuple[str, int]:
        """(status, attempts), read around the outage: the lock holder's own connection on
        SQLite, a direct connection (not through the proxy) on PostgreSQL."""
        query = "SELECT status, attempts FROM outbox_messages WHERE recipient = "
        if self.lock is not None:
            return self.lock.execute(query + "?", (recipient,)).fetchone()
        connection = await asyncpg.connect(DATABASE_URL)
        try:
            row = await connection.fetchrow(query + "$1", recipient)
        finally:
            await connection.close()
        return row["status"], row["attempts"]


@contextlib.asynccontextmanager
async def outage_of_the_database(settings: Settings) -> AsyncIterator[tuple[Settings, Outage]]:
    """(settings to run the app and worker with, the outage switch). PostgreSQL: everything
    goes through the proxy, rebound to the server directly afterwards."""
    if SQLITE:
        try:
            yield settings, Outage(None)
        finally:
            engine.current().connection_kwargs["timeout"] = engine.SQLITE_BUSY_TIMEOUT  # type: ignore[attr-defined]
        return
    parts = urlsplit(DATABASE_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    user = f"{parts.username}@" if parts.username else ""
    through = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.listen_port}"))
    try:
        yield settings.replace(database_url=through), Outage(proxy)
    finally:
        proxy.close()
        engine.bind(DATABASE_URL)  # the next test's fixtures use the server directly


async def eventually(check: Any, what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what} not within {within} s"
        await asyncio.sleep(0.05)


async def message_to(address: str) -> uuid.UUID:
    row = await OutboxMessage.select(OutboxMessage.id).where(
        OutboxMessage.recipient == address).first()
    return row["id"]


async def test_a_job_that_cannot_reach_the_database_is_retried_and_delivered_once_back(
        settings, clock, mailbox):
    settings = settings.replace(delivery_retry_base=0.1, delivery_max_tries=30)
    address = "during@example.com"
    async with outage_of_the_database(settings) as (settings, outage), \
            serving(settings, clock, worker=False) as client:
        assert (await register(client, address)).status_code == 201  # queued, not yet run
        message_id = await message_to(address)
        await outage.begin()
        redis = Redis.from_url(settings.redis_url)
        try:
            async with running_worker(settings, clock):
                async def retried() -> bool:  # arq's try counter of the job
                    return int(await redis.get(f"arq:retry:{message_id}") or 0) >= 3

                await eventually(retried, "three tries that could not reach the database")
                assert mailbox.to(address) == []  # nothing sent before the claim
                assert await outage.status(address) == ("pending", 0)  # never claimed
                await outage.end()
                (mail,) = await wait_mail(mailbox, address, within=10)

                async def sent() -> bool:
                    return (await outbox.status_of(message_id))["status"] == "sent"

                await eventually(sent, "the row marked sent")
        finally:
            await outage.end()
            await redis.aclose()
        row = await outbox.status_of(message_id)
        assert row["attempts"] == 1 and row["last_error"] is None
        assert str(mail.message["Message-ID"]) == f"<{message_id}@latchkey>"
        verified = await client.post("/v1/auth/verify-email",
                                     json={"token": token_of(mail.links[0])})
        assert verified.status_code == 200, verified.text
    assert len(mailbox.to(address, mail.subject)) == 1


@contextlib.asynccontextmanager
async def silent_smtp_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers: an SMTP send waits on it (for its
    greeting) until cancelled or timed out."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


async def test_a_send_cancelled_by_a_stopping_worker_is_pending_at_once_and_sent_once_later(
        settings, clock, mailbox):
    address = "inflight@example.com"
    async with serving(settings, clock, worker=False) as client:
        assert (await register(client, address)).status_code == 201
        message_id = await message_to(address)
        async with silent_smtp_server() as port:
            stalled = settings.replace(smtp_port=port, smtp_timeout=30.0)
            async with running_worker(stalled, clock) as worker:
                async def sending() -> bool:
                    return (await outbox.status_of(message_id))["status"] == "sending"

                await eventually(sending, "the send under way")
                worker.handle_sig(signal.SIGTERM)  # what arq does on SIGTERM: cancel jobs
                await eventually(lambda: _done(worker), "the cancelled job handed back", 5)
                row = await outbox.status_of(message_id)
                assert row["status"] == "pending", row  # at once, not after the sweep
                assert "interrupted" in row["last_error"]
        redis = Redis.from_url(settings.redis_url)
        try:
            assert await redis.exists(f"arq:job:{message_id}")  # still queued for a worker
        finally:
            await redis.aclose()
        async with running_worker(settings, clock):
            (mail,) = await wait_mail(mailbox, address)

            async def sent() -> bool:
                return (await outbox.status_of(message_id))["status"] == "sent"

            await eventually(sent, "the row marked sent")
            await asyncio.sleep(0.3)  # a second copy would arrive within this
        assert len(mailbox.to(address, mail.subject)) == 1
        verified = await client.post("/v1/auth/verify-email",
                                     json={"token": token_of(mail.links[0])})
        assert verified.status_code == 200, verified.text


async def _done(worker: Any) -> bool:
    return all(task.done() for task in worker.tasks.values())


@contextlib.asynccontextmanager
async def locked_outbox() -> AsyncIterator[None]:
    """Hold a lock that blocks the worker's claim: SQLite's write lock, or PostgreSQL's
    ACCESS EXCLUSIVE lock on outbox_messages, from a connection of the test's own."""
    if SQLITE:
        lock = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.rollback()
            lock.close()
        return
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE outbox_messages IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


async def test_a_worker_whose_job_waits_on_the_database_exits_promptly_on_sigterm(
        settings, clock, mailbox):
    address = "stopping@example.com"
    async with serving(settings, clock, worker=False) as client:
        assert (await register(client, address)).status_code == 201
        message_id = await message_to(address)
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": settings.redis_url, "SMTP_PORT": str(settings.smtp_port),
           "BCRYPT_ROUNDS": "4", "WORKER_METRICS_PORT": "0"}
    redis = Redis.from_url(settings.redis_url)
    try:
        async with locked_outbox():
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "worker", cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                async def started() -> bool:
                    return bool(await redis.exists(f"arq:in-progress:{message_id}"))

                await eventually(started, "the job started", 20)
                await asyncio.sleep(0.3)  # into the claim, waiting for the lock
                worker.send_signal(signal.SIGTERM)
                stopped = time.monotonic()
                code = await asyncio.wait_for(worker.wait(), 10)
                assert time.monotonic() - stopped < 5, "the worker outlived SIGTERM"
                assert code == 0
            finally:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
        assert (await outbox.status_of(message_id))["status"] == "pending"
        assert mailbox.to(address) == []
        assert await redis.exists(f"arq:job:{message_id}")  # handed back to the queue
    finally:
        await redis.aclose()
    async with serving(settings, clock):  # the next worker delivers it, once
        await wait_mail(mailbox, address)
        await asyncio.sleep(0.3)
    assert len(mailbox.to(address)) == 1
    assert (await outbox.status_of(message_id))["status"] == "sent"
