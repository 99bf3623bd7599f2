"""Email addresses as accounts see them: trimmed, domain lower-cased, compared lower-cased."""

from __future__ import annotations

import re

from domain.errors import ValidationFailed

# Deliberately simple (WHATWG "valid e-mail address" shape); the verification email is the
# real proof. RFC 5321 §4.5.3.1: 64-octet local part, 254 in all.
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalize_email(raw: str) -> str:
    """Trim and lower-case the domain; raise ValidationFailed if it is not an address."""
    email = raw.strip()
    local, _, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}"
    if len(email) > 254 or len(local) > 64 or not EMAIL_RE.match(email):
        raise ValidationFailed([("email", "must be a valid email address")])
    return email
