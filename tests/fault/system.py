"""Parts the fault-injection tests control: the Procfile's processes (one web, any number of
workers, each started, signalled and restarted on its own), an SMTP sink that can go down,
refuse a recipient or hold its reply, a Twilio stub scripted per number, and a TCP proxy that
can cut the worker off from PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import redis
from aiohttp import web

from db.redis.heartbeat import KEY as HEARTBEAT_KEY
from scripts.embedded_redis import free_port
from scripts.mailbox import Mailbox
from scripts.twilio_stub import Reply, TwilioStub
from tests.environment import DATABASE_URL
from tests.processes import BIN, wait_until, web_answers

WAIT = 30.0  # seconds: generous bound for anything a test waits for (a loaded 2-core machine)


class FaultySink(Mailbox):
    """The SMTP sink, with faults the test scripts: ``down()``/``up()`` on one fixed port,
    ``refuse[address] = "550 ..."`` answered at RCPT TO, and ``hold`` (addresses) whose DATA
    reply waits until ``gate`` is set: before the message is stored (``hold_after_store``
    False: a sender that disconnects meanwhile delivered nothing) or after (the message is
    accepted but the sender never sees the 250). ``held`` is set once a DATA is waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.controller: Any = None
        self.refuse: dict[str, str] = {}
        self.hold: set[str] = set()
        self.hold_after_store = False
        self.held, self.gate = threading.Event(), threading.Event()
        self.rcpt_commands = 0

    def up(self) -> FaultySink:
        self.controller = self.start(port=self.port)
        return self

    def down(self) -> None:
        if self.controller is not None:
            self.gate.set()  # a held reply must not keep the server from stopping
            self.controller.stop()
            self.controller = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.rcpt_commands += 1
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        holding = any(r.lower() in self.hold for r in envelope.rcpt_tos)
        if holding and not self.hold_after_store:
            await self._wait_for_gate()
            if server.transport is None or server.transport.is_closing():
                return "421 the client went away"  # nothing stored: it was never accepted
        reply = await super().handle_DATA(server, session, envelope)
        if holding and self.hold_after_store:
            await self._wait_for_gate()
        return reply

    async def _wait_for_gate(self) -> None:
        self.held.set()
        while not self.gate.is_set():  # noqa: ASYNC110 (set by the test's thread)
            await asyncio.sleep(0.02)

    def message_ids(self, address: str) -> list[str]:
        return [str(m.message["Message-ID"]) for m in self.to(address)]


class ScriptedTwilio(TwilioStub):
    """The Twilio stub with replies scripted per number: ``script[number] = [Reply(429), ...]``
    are answered, in order, to requests for that number, then 201. ``requests_to``: requests
    per number."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, list[Reply]] = {}
        self.requests_to: Counter[str] = Counter()

    async def _messages(self, request: web.Request) -> web.Response:
        to = str((await request.post()).get("To", ""))  # parsed once: aiohttp caches it
        with self._changed:
            self.requests_to[to] += 1
            if self.script.get(to):  # the base class pops it before its next await
                self.replies.insert(0, self.script[to].pop(0))
        return await super()._messages(request)


class CuttableProxy:
    """A TCP proxy between the worker and the database server. ``cut()`` closes every open
    connection and answers new ones by closing them (the database is unreachable; ``refused``
    counts those); ``restore()`` forwards again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.refused = 0
        self._cut = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            victims = list(self._open)
        for sock in victims:
            self._drop(sock)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


class System:
    """The Procfile's ``web`` and ``worker`` lines as processes on this run's database, a
    private Redis, the sink and the Twilio stub. ``env``: settings for every process;
    :meth:`start_worker` takes more for one worker (another DATABASE_URL)."""

    def __init__(self, *, redis_url: str, smtp_port: int, twilio: TwilioStub, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = redis_url
        self.environ = {
            **os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": redis_url, "SMTP_PORT": str(smtp_port), "BCRYPT_ROUNDS": "4",
            "APP_URL": "https://app.example.test", "RATE_LIMIT_REGISTER": "1000/hour",
            "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE_URL": twilio.base_url,
            **env}
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis.from_url(redis_url)

    def start_web(self) -> subprocess.Popen[bytes]:
        """uvicorn as the Procfile runs it, on this system's port; returns once it answers."""
        self.web = subprocess.Popen(
            [str(BIN / "uvicorn"), "api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--timeout-graceful-shutdown", "10"],
            env=self.environ)
        wait_until(lambda: web_answers(self.url) or self.web.poll() is not None, "web", WAIT)
        assert self.web.poll() is None, "the web process exited at start-up"
        return self.web

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        """``python -m worker``; returns once it polls the queue (its heartbeat is written)."""
        worker = subprocess.Popen([sys.executable, "-m", "worker"],
                                  env={**self.environ, **env})
        self.workers.append(worker)
        name = f"{socket.gethostname()}:{worker.pid}"
        wait_until(lambda: self.redis.zscore(HEARTBEAT_KEY, name) is not None
                   or worker.poll() is not None, "worker", WAIT)
        assert worker.poll() is None, "the worker exited at start-up"
        return worker

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
             within: float = 15.0) -> int:
        """Send ``sig`` and wait for the exit; returns the exit code. raises TimeoutExpired."""
        proc.send_signal(sig)
        return proc.wait(timeout=within)

    def close(self) -> None:
        procs = [p for p in (self.web, *self.workers) if p is not None and p.poll() is None]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()  # never leave a worker polling after the test
                proc.wait()
        self.redis.close()
