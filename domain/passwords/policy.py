"""The password policy of every new password (registration, reset, change).

No composition rules (NIST SP 800-63B §5.1.1.2); common and guessable passwords are refused
with zxcvbn (OWASP ASVS 2.1.7).
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from domain.errors import ValidationFailed
from domain.settings import Settings

MAX_PASSWORD_LENGTH = 128  # code points; NIST SP 800-63B §5.1.1.2 asks for at least 64
ZXCVBN_PREFIX = 72  # zxcvbn refuses longer input (its cost grows fast with length)


def check_password_policy(password: str, *, email: str = "", min_length: int = 12,
                          min_strength: int = 0, field: str = "password") -> None:
    """Raise ValidationFailed (naming ``field``) unless ``password`` is min_length..128 code
    points, does not contain the email's local part, and scores at least ``min_strength``
    (0..4) with zxcvbn against common passwords, names and the user's own details.

    No composition rules (NIST SP 800-63B §5.1.1.2; OWASP ASVS 2.1.7 blocks breached or
    common passwords).
    """
    if len(password) < min_length:
        raise ValidationFailed([(field, f"must be at least {min_length} characters")])
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed([(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")])
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):  # tabs, NUL: not typeable
        raise ValidationFailed([(field, "must not contain control characters")])
    local = email.partition("@")[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise ValidationFailed([(field, "must not contain your email address")])
    if min_strength:
        result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=[local, email.lower()])
        if result["score"] < min_strength:
            hint = result["feedback"].get("warning") or "it is too easy to guess"
            raise ValidationFailed([(field, f"is too weak: {hint.rstrip('.')}. "
                                            "A few unrelated words make a strong password.")])


def check_new_password(settings: Settings, password: str, email: str,
                       field: str = "password") -> None:
    """The policy of every new password (registration, reset, change), from settings."""
    check_password_policy(password, email=email, field=field,
                          min_length=settings.password_min_length,
                          min_strength=settings.password_min_strength)
