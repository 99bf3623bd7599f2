"""The one registry of message kinds (GoTrue keeps one list of mail kinds; so do we).

Each kind is declared once: its channels, subject, the one-time secret it carries (with its
purpose and lifetime, see ``domain/one_time_secrets/purposes.py``), whether it is a security
alert, and whether a person may turn it off. Templates live in ``worker/templates/`` as
``<name>.txt`` + ``<name>.html`` (email) and ``<name>.sms.txt`` (SMS); a test checks that
every kind has a template for each of its channels and every template has a kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.one_time_secrets import purposes
from domain.one_time_secrets.purposes import Purpose


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


@dataclass(frozen=True, slots=True)
class MessageKind:
    """A kind of message to a person. secret: the purpose of the link or code the worker
    mints when it sends; security_alert: tells of a change to the account's security;
    optional: the person may turn it off (security alerts never are)."""

    name: str
    subject: str
    channels: tuple[Channel, ...] = (Channel.EMAIL,)
    secret: Purpose | None = None
    security_alert: bool = False
    optional: bool = False


KINDS: dict[str, MessageKind] = {}


def declare(kind: MessageKind) -> MessageKind:
    """Register ``kind``; raises ValueError for a name declared twice or an optional alert."""
    if kind.name in KINDS:
        raise ValueError(f"message kind {kind.name!r} is declared twice")
    if kind.security_alert and kind.optional:
        raise ValueError(f"security alert {kind.name!r} cannot be optional")
    KINDS[kind.name] = kind
    return kind


VERIFY_EMAIL = declare(MessageKind("verify_email", "Verify your email address",
                                   secret=purposes.VERIFY_EMAIL))
WELCOME = declare(MessageKind("welcome", "Welcome to latchkey", optional=True))
RESET_PASSWORD = declare(MessageKind("reset_password", "Reset your password",
                                     secret=purposes.RESET_PASSWORD))
PASSWORD_RESET_ALERT = declare(MessageKind("alert_password_reset", "Your password was reset",
                                           security_alert=True))
PASSWORD_CHANGED_ALERT = declare(MessageKind("alert_password_changed",
                                             "Your password was changed", security_alert=True))
TOKEN_REUSE_ALERT = declare(MessageKind("alert_token_reuse", "We signed out a session of yours",
                                        security_alert=True))
NEW_DEVICE_ALERT = declare(MessageKind("alert_new_device", "New sign-in to your account",
                                       security_alert=True))
