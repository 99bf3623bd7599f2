"""Message templates beside this file, ``$name`` placeholders (string.Template): emails are
``<kind>.txt`` and ``<kind>.html`` (HTML values escaped), subjects come from the kind's
declaration in ``domain/messages/kinds.py``; SMS are ``<kind>.sms.txt`` (plain text)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from domain.messages.delivery import OutgoingMessage
from domain.messages.kinds import Channel, MessageKind

HERE = Path(__file__).parent

# The template files each channel renders, by suffix after the kind's name.
SUFFIXES: dict[Channel, tuple[str, ...]] = {Channel.EMAIL: (".txt", ".html"),
                                            Channel.SMS: (".sms.txt",),
                                            Channel.PUSH: (".push.txt",),
                                            Channel.SLACK: (".slack.txt",),
                                            Channel.VOICE: (".voice.txt",)}


def template_names(kind: MessageKind) -> list[str]:
    """The template files ``kind`` needs: one set per channel it is declared on."""
    return [kind.name + suffix for channel in kind.channels for suffix in SUFFIXES[channel]]


# Quoted-printable keeps bodies readable; the compat32 MIME classes build and flatten a message
# several times faster than EmailMessage's header registry, which was 40% of a worker's CPU.
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP


@dataclass(frozen=True, slots=True)
class Envelope:
    """A rendered email: SMTP envelope addresses and the RFC 5322 bytes. Holds secrets."""

    sender: str
    recipients: list[str]
    data: bytes


@cache
def _template(name: str) -> Template:
    return Template((HERE / name).read_text(encoding="utf-8"))


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def render(message: OutgoingMessage, *, sender: str) -> Envelope:
    """Render ``message`` as text + HTML (multipart/alternative). raises KeyError for an unknown
    kind or a missing template value (a bug: the delivery retries, then fails the message)."""
    values: dict[str, Any] = {"name": "", **message.data}
    values["greeting"] = f"Hi {values['name']}," if values["name"] else "Hi,"
    escaped = {k: html.escape(str(v)) for k, v in values.items()}
    email = MIMEMultipart("alternative")
    email["Subject"] = _header(message.kind.subject)
    email["From"] = _header(sender)
    email["To"] = message.recipient
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = f"<{message.id}@latchkey>"
    email["X-Latchkey-Message-Id"] = str(message.id)
    email.attach(MIMEText(_template(f"{message.kind.name}.txt").substitute(values), "plain", UTF8))
    email.attach(MIMEText(_template(f"{message.kind.name}.html").substitute(escaped), "html", UTF8))
    return Envelope(sender=parseaddr(sender)[1], recipients=[message.recipient],
                    data=email.as_bytes())


def render_sms(message: OutgoingMessage) -> str:
    """The SMS body of ``message``: ``<kind>.sms.txt`` with its data, stripped. Holds the code:
    never log it. raises KeyError for a missing template value (a bug: the delivery retries,
    then fails the message)."""
    values: dict[str, Any] = {"name": "", **message.data}
    return _template(f"{message.kind.name}.sms.txt").substitute(values).strip()
