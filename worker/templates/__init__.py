"""Email templates: ``<kind>.txt`` and ``<kind>.html`` beside this file, ``$name``
placeholders (string.Template); subjects below. HTML values are escaped."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from domain.messages import OutgoingMessage

HERE = Path(__file__).parent

SUBJECTS = {
    "verify_email": "Verify your email address",
    "welcome": "Welcome to latchkey",
}


@cache
def _template(name: str) -> Template:
    return Template((HERE / name).read_text(encoding="utf-8"))


def render(message: OutgoingMessage, *, sender: str) -> EmailMessage:
    """Build a text + HTML EmailMessage for ``message``. raises KeyError for an unknown kind
    or a missing template value (a bug: the delivery retries, then fails the message)."""
    values: dict[str, Any] = {"name": "", **message.data}
    values["greeting"] = f"Hi {values['name']}," if values["name"] else "Hi,"
    email = EmailMessage()
    email["Subject"] = SUBJECTS[message.kind]
    email["From"] = sender
    email["To"] = message.recipient
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(idstring=str(message.id), domain="latchkey")
    email["X-Latchkey-Message-Id"] = str(message.id)
    email.set_content(_template(f"{message.kind}.txt").substitute(values))
    escaped = {k: html.escape(str(v)) for k, v in values.items()}
    email.add_alternative(_template(f"{message.kind}.html").substitute(escaped), subtype="html")
    return email
