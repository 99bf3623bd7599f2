"""A local SMTP sink (aiosmtpd): the dev mailbox, and the tests' real SMTP server.

``python -m scripts.mailbox [--port 1025] [--dir var/mail]`` stores each message as an .eml
file and prints its recipient and subject, then each link alone on a line after a blank one,
so the link is the last thing on screen and copies cleanly. ``--sms-port PORT`` also runs an
SMS inbox: the local Twilio stub (scripts/twilio_stub.py) on that port, printing each SMS on
one line marked ``[sms]`` with its code last; it accepts the credentials in TWILIO_ACCOUNT_SID
and TWILIO_AUTH_TOKEN (default: the dev values scripts/dev exports). ``--sms-only`` runs the
SMS inbox without the SMTP sink. Tests use :class:`Mailbox` in-process to read what the worker
sent and to script failure replies (451, 550).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from scripts.embedded_redis import free_port
from scripts.twilio_stub import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, TwilioStub

LINK_RE = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class ReceivedMail:
    recipients: list[str]
    message: EmailMessage
    accepted_at: float  # time.time() when DATA was accepted

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def links(self) -> list[str]:
        return LINK_RE.findall(self.text)


def announcement(mail: ReceivedMail, saved: Path | None) -> str:
    """What the dev mailbox prints for one message: ``[mailbox] to <recipients>: <subject>``
    (and where it was saved), then for each link a blank line and the link alone, last."""
    lines = [f"[mailbox] to {', '.join(mail.recipients)}: {mail.subject}"
             + (f"  ({saved})" if saved else "")]
    for link in mail.links:
        lines += ["", link]
    return "\n".join(lines)


class Mailbox:
    """aiosmtpd handler keeping every accepted message. ``replies``: scripted SMTP replies
    (e.g. "451 try later") returned for the next DATA commands instead of accepting."""

    def __init__(self, directory: Path | None = None, echo: bool = False) -> None:
        self.directory = directory
        self.echo = echo
        self.received: list[ReceivedMail] = []
        self.replies: list[str] = []
        self.refused = 0
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._changed:
            if self.replies:
                self.refused += 1
                return self.replies.pop(0)
        mail = ReceivedMail(list(envelope.rcpt_tos),
                            message_from_bytes(envelope.content, policy=policy.default),
                            time.time())
        saved = None
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{len(self.received):05d}.eml"
            saved = self.directory / name
            saved.write_bytes(envelope.content)
        if self.echo:
            print(announcement(mail, saved), flush=True)
        with self._changed:
            self.received.append(mail)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str, subject: str | None = None) -> list[ReceivedMail]:
        """Messages to ``address`` (any case), optionally only those with ``subject``."""
        return [m for m in self.received if address.lower() in (r.lower() for r in m.recipients)
                and (subject is None or m.subject == subject)]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0,
                 subject: str | None = None) -> list[ReceivedMail]:
        """Block until ``count`` messages to ``address`` (with ``subject``) arrived; returns
        them all. raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.to(address, subject)) >= count,
                                          timeout):
                raise TimeoutError(f"{count} message(s) to {address} not received in {timeout}s")
            return self.to(address, subject)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Controller:
        """Serve in a background thread; returns the started Controller (``.port``)."""
        controller = Controller(self, hostname=host, port=port or free_port(host))
        controller.start()
        return controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    parser.add_argument("--sms-port", type=int, default=None,
                        help="also print SMS sent to a Twilio stub on this port")
    parser.add_argument("--sms-only", action="store_true",
                        help="with --sms-port: no SMTP sink, only the SMS inbox")
    args = parser.parse_args()
    if args.sms_only and args.sms_port is None:
        parser.error("--sms-only needs --sms-port")
    controller = None
    if not args.sms_only:
        controller = Mailbox(directory=args.dir, echo=True).start(args.host, args.port)
        print(f"[mailbox] SMTP sink on {args.host}:{args.port}, saving to {args.dir}/",
              flush=True)
    sms = None
    if args.sms_port is not None:
        sms = TwilioStub(os.environ.get("TWILIO_ACCOUNT_SID") or DEV_ACCOUNT_SID,
                         os.environ.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN, echo=True)
        sms.start(args.host, args.sms_port)
        print(f"[mailbox] SMS inbox (Twilio stub) on {sms.base_url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    if sms is not None:
        sms.stop()
    if controller is not None:
        controller.stop()


if __name__ == "__main__":
    main()
