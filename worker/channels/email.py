"""SMTP channel (aiosmtplib) with a small pool of reused connections per worker process."""

from __future__ import annotations

import asyncio
import contextlib

import aiosmtplib
from aiosmtplib import (
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from domain.errors import PermanentDeliveryError, TransientDeliveryError
from domain.messages.delivery import OutgoingMessage
from domain.settings import Settings
from worker.templates import Envelope, render


def classify(exc: Exception) -> Exception:
    """Map an SMTP failure to a delivery error: 5xx replies are permanent (RFC 5321 §4.2.1),
    4xx replies, timeouts and connection trouble are transient."""
    code = None
    if isinstance(exc, SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
    elif isinstance(exc, SMTPResponseException):
        code = exc.code
    reason = f"SMTP {code}: {getattr(exc, 'message', '')}" if code else f"{type(exc).__name__}"
    if code is not None and 500 <= code < 600:
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(reason)


class SmtpChannel:
    """Sends rendered emails over at most ``smtp_pool_size`` concurrent SMTP connections,
    keeping idle ones open between messages (one TCP+EHLO handshake per connection, not
    per message). raises TransientDeliveryError or PermanentDeliveryError."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.smtp_pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout,
            use_tls=s.smtp_tls == "tls", start_tls=s.smtp_tls == "starttls",
            username=s.smtp_username or None, password=s.smtp_password or None,
        )
        await client.connect()
        return client

    async def deliver(self, message: OutgoingMessage) -> None:
        """Render ``message`` (text + HTML) and send it. Returns None: SMTP gives no id
        (the Message-ID header is ours)."""
        await self.send(render(message, sender=self._settings.mail_from))

    async def send(self, envelope: Envelope) -> None:
        async with self._slots:
            reused = bool(self._idle)
            try:
                client = self._idle.pop() if reused else await self._connect()
            except (TimeoutError, SMTPException, OSError) as exc:
                raise classify(exc) from None
            try:
                await client.sendmail(envelope.sender, envelope.recipients, envelope.data)
            except SMTPServerDisconnected:
                # An idle connection the server closed: one immediate retry on a fresh one.
                if not reused:
                    raise TransientDeliveryError("SMTPServerDisconnected") from None
                await self._discard(client)
                try:
                    client = await self._connect()
                    await client.sendmail(envelope.sender, envelope.recipients, envelope.data)
                except (TimeoutError, SMTPException, OSError) as exc:
                    await self._discard(client)
                    raise classify(exc) from None
            except (TimeoutError, SMTPException, OSError) as exc:
                await self._discard(client)
                raise classify(exc) from None
            except asyncio.CancelledError:  # the worker is stopping: hang up, mid-message
                await self._discard(client)
                raise
            self._idle.append(client)

    async def _discard(self, client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(Exception):
            client.close()

    async def close(self) -> None:
        """QUIT every idle connection."""
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(Exception):
                await client.quit()
