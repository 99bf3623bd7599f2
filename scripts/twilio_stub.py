"""A local stand-in for Twilio's Messages API: the dev mailbox's SMS inbox and the tests'
Twilio. It answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` as Twilio does (201 and
a message resource with a ``sid``), checks HTTP basic auth against the account SID, and
keeps every SMS; tests script failure replies (429, 5xx, Twilio error codes) and read what
arrived. Nothing here calls Twilio.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from scripts.embedded_redis import free_port

MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"
# The credentials scripts/dev gives the worker and the dev mailbox's SMS inbox (not Twilio's).
DEV_ACCOUNT_SID = "ACdevelopment"
DEV_AUTH_TOKEN = "development-token"
DEV_FROM_NUMBER = "+15005550006"
CODE_RE = re.compile(r"\b(\d{6})\b")


@dataclass(frozen=True)
class ReceivedSms:
    to: str
    sender: str  # the From number
    body: str
    sid: str
    accepted_at: float

    @property
    def code(self) -> str | None:
        """The 6-digit code in the body, if any."""
        match = CODE_RE.search(self.body)
        return match.group(1) if match else None


def announcement(sms: ReceivedSms) -> str:
    """What the dev mailbox prints for one SMS, on one line marked ``[sms]``:
    ``[sms] to +14155552671: <body>  code: 123456``, the code (when there is one) last so it
    copies cleanly with a double-click."""
    line = f"[sms] to {sms.to}: {' '.join(sms.body.split())}"
    return f"{line}  code: {sms.code}" if sms.code else line


@dataclass(frozen=True)
class Reply:
    """A scripted answer for the next request: an HTTP status and, for errors, Twilio's
    error ``code`` (21211 invalid To, 21610 unsubscribed, ...)."""

    status: int
    code: int | None = None
    delivered: bool = False  # a 5xx after Twilio had in fact accepted the SMS


class TwilioStub:
    """``stub.start()`` serves on 127.0.0.1 in a background thread; ``stub.base_url`` goes in
    TWILIO_API_BASE_URL. ``replies``: scripted answers consumed one per request, then 201.
    ``requests``: how many POSTs arrived (refused ones included)."""

    def __init__(self, account_sid: str = "ACtest", auth_token: str = "test-token",
                 echo: bool = False) -> None:
        self.account_sid, self.auth_token, self.echo = account_sid, auth_token, echo
        self.received: list[ReceivedSms] = []
        self.replies: list[Reply] = []
        self.requests = 0
        self.host, self.port = "127.0.0.1", 0
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        with self._changed:
            self.received.clear()
            self.replies.clear()
            self.requests = 0

    async def _messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (request.match_info["sid"] != self.account_sid
                or request.headers.get("Authorization") != expected):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401},
                                     status=401)
        form = await request.post()
        with self._changed:
            self.requests += 1
            reply = self.replies.pop(0) if self.replies else Reply(201)
        sms = ReceivedSms(str(form.get("To", "")), str(form.get("From", "")),
                          str(form.get("Body", "")), "SM" + uuid.uuid4().hex, time.time())
        if reply.status == 201 or reply.delivered:
            if self.echo:
                print(announcement(sms), flush=True)
            with self._changed:
                self.received.append(sms)
                self._changed.notify_all()
        if reply.status != 201:
            return web.json_response({"code": reply.code, "message": "scripted failure",
                                      "more_info": "", "status": reply.status},
                                     status=reply.status)
        return web.json_response({"sid": sms.sid, "to": sms.to, "from": sms.sender,
                                  "body": sms.body, "status": "queued",
                                  "account_sid": self.account_sid}, status=201)

    def to(self, number: str) -> list[ReceivedSms]:
        with self._changed:
            return [s for s in self.received if s.to == number]

    def wait_for(self, number: str, count: int = 1, timeout: float = 5.0) -> list[ReceivedSms]:
        """Block until ``count`` SMS to ``number`` arrived; returns them all.
        raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(
                    lambda: len([s for s in self.received if s.to == number]) >= count, timeout):
                raise TimeoutError(f"{count} SMS to {number} not received in {timeout}s")
            return [s for s in self.received if s.to == number]

    def start(self, host: str = "127.0.0.1", port: int = 0) -> TwilioStub:
        """Serve in a daemon thread until :meth:`stop`; returns self (``.port`` set)."""
        self.host, self.port = host, port or free_port(host)
        started = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post(MESSAGES, self._messages)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, host, self.port).start())
            started.set()
            self._loop.run_forever()

        threading.Thread(target=serve, name="twilio-stub", daemon=True).start()
        if not started.wait(10):
            raise RuntimeError("the Twilio stub did not start")
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
