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
    SLACK = "slack"  # no sender yet: recorded in the outbox as not delivered (routing.py)
    VOICE = "voice"  # no sender yet: likewise


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
    critical: bool = False  # an alert that always goes by email too, whatever the preferences


KINDS: dict[str, MessageKind] = {}

# Security alerts may go on every channel; the worker picks by the person's preferences
# (domain/messages/routing.py). Email first: uow.alert queues the alert there.
ALERT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.SLACK, Channel.VOICE)


def declare(kind: MessageKind) -> MessageKind:
    """Register ``kind``; raises ValueError for a name declared twice or an optional alert."""
    if kind.name in KINDS:
        raise ValueError(f"message kind {kind.name!r} is declared twice")
    if kind.critical and not kind.security_alert:
        raise ValueError(f"{kind.name!r}: only a security alert can be critical")
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
                                           ALERT_CHANNELS, security_alert=True, critical=True))
PASSWORD_CHANGED_ALERT = declare(MessageKind("alert_password_changed",
                                             "Your password was changed", ALERT_CHANNELS,
                                             security_alert=True, critical=True))
TOKEN_REUSE_ALERT = declare(MessageKind("alert_token_reuse", "We signed out a session of yours",
                                        ALERT_CHANNELS, security_alert=True, critical=True))
NEW_DEVICE_ALERT = declare(MessageKind("alert_new_device", "New sign-in to your account",
                                       ALERT_CHANNELS, security_alert=True))
MAGIC_LINK = declare(MessageKind("magic_link", "Your sign-in link", secret=purposes.MAGIC_LINK))
SMS_TWO_FACTOR_ENROL = declare(MessageKind("sms_two_factor_enrol", "Your verification code",
                                           channels=(Channel.SMS,),
                                           secret=purposes.SMS_TWO_FACTOR_ENROL))
SMS_TWO_FACTOR_CODE = declare(MessageKind("sms_two_factor_code", "Your sign-in code",
                                          channels=(Channel.SMS,),
                                          secret=purposes.SMS_TWO_FACTOR))
CONTACT_CODE_EMAIL = declare(MessageKind("contact_code_email", "Your verification code",
                                         secret=purposes.CONTACT_EMAIL))
CONTACT_CODE_SMS = declare(MessageKind("contact_code_sms", "Your verification code",
                                       channels=(Channel.SMS,), secret=purposes.CONTACT_SMS))
TWO_FACTOR_ENABLED_ALERT = declare(MessageKind(
    "alert_two_factor_enabled", "Two-factor authentication was turned on", ALERT_CHANNELS,
    security_alert=True))
TWO_FACTOR_DISABLED_ALERT = declare(MessageKind(
    "alert_two_factor_disabled", "Two-factor authentication was turned off",
    ALERT_CHANNELS, security_alert=True, critical=True))
BACKUP_CODES_REGENERATED_ALERT = declare(MessageKind(
    "alert_backup_codes_regenerated", "New backup codes were generated", ALERT_CHANNELS,
    security_alert=True))
BACKUP_CODE_USED_ALERT = declare(MessageKind(
    "alert_backup_code_used", "A backup code was used to sign in", ALERT_CHANNELS,
    security_alert=True))
DEVICE_PAIRED_ALERT = declare(MessageKind(
    "alert_device_paired", "A new device was paired with your account", ALERT_CHANNELS,
    security_alert=True))
ACCOUNT_DEACTIVATED_ALERT = declare(MessageKind(
    "alert_account_deactivated", "Your account was deactivated", ALERT_CHANNELS,
    security_alert=True, critical=True))
# To the PREVIOUS address when a verified contact code moved the account to a new one, so a
# stolen session cannot quietly take the account's email (GoTrue's secure email change tells
# both). Not a routed security alert: routing would send it to the new address.
EMAIL_CHANGED_NOTICE = declare(MessageKind("email_changed_notice",
                                           "The email address of your account was changed"))
# To an address that may have no account yet; carries the invitation's own token, stored on
# the invitation row (domain/organizations/invitations.py), not in one_time_tokens.
INVITATION = declare(MessageKind("invitation", "You are invited to join an organization",
                                 secret=purposes.INVITATION))
