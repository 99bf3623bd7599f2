"""The one registry of one-time secret purposes: what each secret is for, its form (a link
token or a short numeric code), its lifetime and its rules. A new purpose is one declaration
here; a message kind that carries it names it in ``domain/messages/kinds.py``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.settings import Settings


class SecretForm(StrEnum):
    LINK = "link"  # 256-bit opaque token in a URL, stored as SHA-256 (OWASP ASVS 2.5.1)
    CODE = "code"  # short numeric code, stored as a keyed HMAC, attempt-limited (ASVS 2.7.x)


@dataclass(frozen=True, slots=True)
class Purpose:
    """A one-time secret's purpose (``one_time_tokens.purpose`` / ``otp_codes.purpose``).

    ttl_setting: the Settings field giving its lifetime in seconds.
    link_path: for links, the page of APP_URL the link opens (``?token=`` appended).
    max_attempts: for codes, wrong guesses before the code is void.
    supersedes: a newer secret of this purpose voids the user's older unused ones.
    """

    name: str
    form: SecretForm
    ttl_setting: str
    link_path: str | None = None
    max_attempts: int = 5
    digits: int = 6
    supersedes: bool = True

    def ttl(self, settings: Settings) -> int:
        """Lifetime in seconds, from settings."""
        return int(getattr(settings, self.ttl_setting))


PURPOSES: dict[str, Purpose] = {}


def declare(purpose: Purpose) -> Purpose:
    """Register ``purpose``; raises ValueError for a name declared twice."""
    if purpose.name in PURPOSES:
        raise ValueError(f"purpose {purpose.name!r} is declared twice")
    PURPOSES[purpose.name] = purpose
    return purpose


VERIFY_EMAIL = declare(Purpose("verify_email", SecretForm.LINK, "email_verification_ttl",
                               link_path="/verify-email"))
RESET_PASSWORD = declare(Purpose("reset_password", SecretForm.LINK, "password_reset_ttl",
                                 link_path="/reset-password"))
MAGIC_LINK = declare(Purpose("magic_link", SecretForm.LINK, "magic_link_ttl",
                             link_path="/auth/magic", supersedes=False))  # phone and laptop
SMS_TWO_FACTOR_ENROL = declare(Purpose("sms_two_factor_enrol", SecretForm.CODE, "sms_code_ttl"))
SMS_TWO_FACTOR = declare(Purpose("sms_two_factor", SecretForm.CODE, "sms_code_ttl"))
CONTACT_EMAIL = declare(Purpose("contact_email", SecretForm.CODE, "contact_code_ttl"))
CONTACT_SMS = declare(Purpose("contact_sms", SecretForm.CODE, "contact_code_ttl"))
# Minted in the request and shown as a QR code to the signed-in owner, never sent by message.
PAIR_DEVICE = declare(Purpose("pair_device", SecretForm.LINK, "pairing_token_ttl",
                              supersedes=False))
# Minted by the worker into invitations.token_hash (the invitee may have no account yet).
INVITATION = declare(Purpose("invitation", SecretForm.LINK, "invitation_ttl",
                             link_path="/invitations/accept"))
# Single sign-on (issue 14), both kept in sso_logins: the ``state`` a sign-in starts with
# (carried by the browser through the provider) and the code the callback hands the app.
SSO_STATE = declare(Purpose("sso_state", SecretForm.LINK, "sso_state_ttl", supersedes=False))
SSO_CODE = declare(Purpose("sso_code", SecretForm.LINK, "sso_code_ttl", supersedes=False))
